import { z } from 'zod';

/**
 * The `prefix` option every cloud adapter offers: a `/`-separated folder inside the bucket or
 * container, so one bucket can hold several projects. Leading and trailing slashes are dropped
 * (`/team/app/` is `team/app`); an empty, `.` or `..` segment is refused, since it would make
 * two spellings name one folder or reach outside it.
 */
export const ObjectPrefixSchema = z
  .string()
  .default('')
  .transform((prefix) => prefix.replace(/^\/+|\/+$/g, ''))
  .refine(
    (prefix) =>
      prefix === '' ||
      prefix.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
    'prefix must be a "/"-separated folder path with no empty, "." or ".." segment',
  )
  .describe('Folder inside the bucket or container, so one can hold several projects.');
