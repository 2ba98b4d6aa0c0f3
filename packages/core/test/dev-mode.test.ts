import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { developmentMode, developmentStorage, inCi } from '../src/index.js';

describe('development mode switches', () => {
  it('is on with DEFSTATE_DEV, never with NODE_ENV=production or CI', () => {
    expect(developmentMode({})).toEqual({ on: false });
    expect(developmentMode({ DEFSTATE_DEV: '1' })).toEqual({ on: true });
    expect(developmentMode({ DEFSTATE_DEV: 'true', CI: 'false' })).toEqual({ on: true });
    expect(developmentMode({ DEFSTATE_DEV: '0' })).toEqual({ on: false });
    expect(developmentMode({ DEFSTATE_DEV: '1', NODE_ENV: 'production' })).toEqual({
      on: false,
      refused: 'NODE_ENV is production',
    });
    expect(developmentMode({ DEFSTATE_DEV: '1', CI: 'true' }).refused).toBe('CI is set (CI=true)');
    expect([inCi({ CI: '1' }), inCi({ CI: '' }), inCi({ CI: '0' }), inCi({})]).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });

  it('uses DEFSTATE_DEV_STORAGE or the embedded store, never DEFSTATE_HOME or DEFSTATE_STORAGE_URL', () => {
    const env = {
      XDG_STATE_HOME: '/home/dev/.state',
      DEFSTATE_HOME: '/etc/defstate',
      DEFSTATE_STORAGE_URL: 's3://prod-bucket/state',
    };
    expect(developmentStorage(env, '/app')).toMatchObject({
      adapter: 'file',
      options: { path: join('/home/dev/.state', 'defstate', 'storage') },
      source: 'default',
    });
    const named = developmentStorage({ ...env, DEFSTATE_DEV_STORAGE: 'file:///tmp/dev' }, '/app');
    expect(named).toMatchObject({ adapter: 'file', origin: 'DEFSTATE_DEV_STORAGE' });
    expect(named.url?.href).toBe('file:///tmp/dev');
  });
});
