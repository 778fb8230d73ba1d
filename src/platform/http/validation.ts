import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { installNulGuard } from './nul-guard.ts';

// Bodies are validated strictly: no type coercion ("5" is not 5), unknown fields rejected rather
// than silently dropped. Query strings, params and headers are text, so those are coerced.
// Before any of that, a string holding U+0000 anywhere is refused (see nul-guard.ts).
export function installValidation(app: FastifyInstance) {
  const make = (coerceTypes: boolean | 'array') => {
    const ajv = new Ajv({ coerceTypes, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    return ajv;
  };
  const strict = make(false);
  const lenient = make('array');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict.compile(schema as object) : lenient.compile(schema as object)));
  installNulGuard(app);
}
