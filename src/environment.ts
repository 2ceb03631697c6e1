/**
 * Settings read from environment variables (AIOFS_BACKEND, AIOFS_SQPOLL, AIOFS_DELIVERY): each
 * reader says which values it accepts and what applies otherwise; this module parses them and
 * warns about a value it cannot honour. A setting never throws: the program runs with the default.
 */
import { warnOnce } from './errors.js';

/**
 * The value of environment variable `name` when it is one of `accepted`. Unset or empty gives
 * `fallback`; any other value gives `fallback` too, after a warning (`code`) that ends with
 * `meaning`, what the fallback does.
 */
export function environmentChoice<T extends string>(name: string, accepted: readonly T[], fallback: T, code: string, meaning: string): T {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if ((accepted as readonly string[]).includes(value)) return value as T;
  warnOnce(code, `${name}=${value} is not one of ${accepted.join(', ')}; ${meaning}`);
  return fallback;
}
