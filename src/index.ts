/**
 * aiofs: truly asynchronous file I/O for Node.js, on io_uring where the kernel has it.
 */
export { IoContext } from './context.js';
export { createContext, getDefaultContext } from './create-context.js';
export type { ContextOptions } from './create-context.js';
export type { ClassStats, ContextStats, OperationOptions, PathLike, StatOptions } from './context.js';
export type { ClassOptions } from './sched/classes.js';
export type { BackendName } from './backend/backend.js';
export { backends } from './backend/select.js';
export type { BackendInfo } from './backend/select.js';
export { AbortError } from './errors.js';
export { allocAligned } from './direct/aligned.js';
export type { Alignment } from './direct/alignment.js';
export type { SystemError, CodedError } from './errors.js';

export { AIOFile } from './file/aiofile.js';
export type { AIOFileOptions, BinaryMode, TextMode } from './file/aiofile.js';
export { asyncOpen, AsyncFile } from './file/async-file.js';
export type { AsyncOpenOptions, FlushOptions } from './file/async-file.js';
export { Reader } from './file/reader.js';
export type { ReaderOptions } from './file/reader.js';
export { Writer } from './file/writer.js';
export type { WriterOptions } from './file/writer.js';
export { LineReader } from './file/line-reader.js';
export type { LineReaderOptions } from './file/line-reader.js';
export type { ReadStreamOptions, WriteStreamOptions } from './file/streams.js';
export type { Encoding } from './file/text.js';
export { registration, type Registration } from './register/state.js';
