/**
 * Open modes as in C's fopen and Python's open(): 'r', 'w', 'a', 'x', each optionally with '+'
 * (read and write) and 'b' (binary) or 't' (text, the default), in any order after the letter.
 */
import { constants } from 'node:fs';
import { invalidArgType, invalidArgValue } from '../errors.js';

export interface OpenMode {
  /** The mode string as given. */
  text: string;
  /** Flags for open(2) (node:fs adds O_CLOEXEC itself). */
  flags: number;
  readable: boolean;
  writable: boolean;
  /** 'a' modes: every write lands at the end of the file, whatever the offset. */
  append: boolean;
  binary: boolean;
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL } = constants;

const baseFlags: Record<string, number> = {
  r: 0,
  w: O_CREAT | O_TRUNC,
  a: O_CREAT | O_APPEND,
  x: O_CREAT | O_EXCL,
};

export function parseMode(mode: unknown): OpenMode {
  if (typeof mode !== 'string') throw invalidArgType('mode', ['string'], mode);
  const match = /^([rwax])([+bt]*)$/.exec(mode);
  const extras = match?.[2] ?? '';
  const count = (c: string) => extras.split(c).length - 1;
  if (!match || count('+') > 1 || count('b') + count('t') > 1) {
    throw invalidArgValue('mode', mode, "must be one of 'r', 'w', 'a', 'x', optionally followed by '+' and 'b' or 't'");
  }
  const letter = match[1];
  const plus = count('+') === 1;
  const readable = letter === 'r' || plus;
  const writable = letter !== 'r' || plus;
  const access = readable && writable ? O_RDWR : writable ? O_WRONLY : O_RDONLY;
  return {
    text: mode,
    flags: access | baseFlags[letter],
    readable,
    writable,
    append: letter === 'a',
    binary: count('b') === 1,
  };
}
