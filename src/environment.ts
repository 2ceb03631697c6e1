/**
 * Settings read from environment variables (AIOFS_BACKEND, AIOFS_SQPOLL, AIOFS_SQPOLL_THREADS,
 * AIOFS_DELIVERY): each reader says which values it accepts and what applies otherwise; this
 * module parses them and warns about a value it cannot honour. A setting never throws: the
 * program runs with the default.
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

/**
 * The whole number from 1 to `max` in environment variable `name`. Unset or empty gives
 * undefined; any other value gives undefined too, after a warning (`code`) that ends with
 * `meaning`, what applies instead.
 */
export function environmentCount(name: string, max: number, code: string, meaning: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  if (/^[1-9][0-9]*$/.test(value) && Number(value) <= max) return Number(value);
  warnOnce(code, `${name}=${value} is not a whole number from 1 to ${max}; ${meaning}`);
  return undefined;
}
