import { InputError } from '../util/errors.js';

/** Parser for repeatable KEY=VALUE options (--build-arg, --label). */
export function parseKeyValue(field: string) {
  return (value: string, previous: Record<string, string> = {}) => {
    const index = value.indexOf('=');
    if (index <= 0) throw new InputError(field, `"${value}" is not KEY=VALUE`, `Write it as --${field} KEY=VALUE.`);
    return { ...previous, [value.slice(0, index)]: value.slice(index + 1) };
  };
}

export function positiveInt(field: string, max: number) {
  return (value: string) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1 || number > max) {
      throw new InputError(field, `"${value}" is not a whole number from 1 to ${max}`, `Pass e.g. --${field} 3.`);
    }
    return number;
  };
}
