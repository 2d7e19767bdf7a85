import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('loadConfig', () => {
  it('when nothing is set, then defaults: port 3000, embedded data in ./data, 300 s cache TTL', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      CACHE_TTL_SECONDS: 300,
      CACHE_ENABLED: true,
      MIGRATE_ON_START: true,
    });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.INSTANCE_ID).toMatch(/:3000$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('when values are given as text, then they are converted to their types', () => {
    const c = loadConfig({
      PORT: '8080',
      CACHE_ENABLED: 'false',
      DATABASE_URL: 'postgres://u@h/db',
      INSTANCE_ID: 'api-1',
    });
    expect(c).toMatchObject({
      PORT: 8080,
      CACHE_ENABLED: false,
      DATABASE_URL: 'postgres://u@h/db',
      INSTANCE_ID: 'api-1',
    });
  });

  it('when an empty string is set, then the default applies', () => {
    expect(loadConfig({ PORT: '' }).PORT).toBe(3000);
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', 'abc'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://x'],
    ['CACHE_TTL_SECONDS', '0'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['CACHE_ENABLED', 'maybe'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc'],
    ['OTEL_TRACES_SAMPLER_ARG', '2'],
    ['SHUTDOWN_DRAIN_MS', '-1'],
  ])('when %s=%s, then a ConfigError names the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}=`));
  });

  it('requires a strong JWT_SECRET outside development, and ADMIN_EMAIL with ADMIN_PASSWORD', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).JWT_SECRET).toHaveLength(32);
    expect(loadConfig({}).JWT_SECRET).toBeUndefined(); // development: a fallback is made at start
    expect(() => loadConfig({ ADMIN_EMAIL: 'a@b.co' })).toThrow(/ADMIN_EMAIL and ADMIN_PASSWORD/);
    expect(() => loadConfig({ ADMIN_EMAIL: 'not-an-email', ADMIN_PASSWORD: '0123456789' })).toThrow(
      /ADMIN_EMAIL=/,
    );
  });
});

describe('loadConfig: the bot', () => {
  it('when the store links are public URLs, then they are accepted; TELEGRAM_API_ROOT defaults to Telegram', () => {
    const c = loadConfig({
      STORE_SITE_URL: 'https://saboresdaterra.com.br',
      STORE_SOCIAL_LINKS: 'Instagram=https://instagram.com/sabores',
    });
    expect(c.TELEGRAM_API_ROOT).toBe('https://api.telegram.org');
    expect(c.STORE_SOCIAL_LINKS).toBe('Instagram=https://instagram.com/sabores');
  });

  it.each([
    ['STORE_SITE_URL', 'http://localhost:3000'],
    ['STORE_SITE_URL', 'http://192.168.0.10/loja'],
    ['STORE_SOCIAL_LINKS', 'Instagram=http://127.0.0.1/x'],
    ['STORE_SOCIAL_LINKS', 'Instagram'],
    ['TELEGRAM_API_ROOT', 'https://api.telegram.org/'],
    ['TELEGRAM_BOT_TOKEN', 'not-a-token'],
    ['TELEGRAM_WEBHOOK_URL', 'http://loja.example/telegram/webhook'],
  ])('when %s=%s, then a ConfigError names it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });

  it('when a webhook URL is set without its secret, then the start fails naming TELEGRAM_WEBHOOK_SECRET', () => {
    expect(() => loadConfig({ TELEGRAM_WEBHOOK_URL: 'https://loja.example/telegram/webhook' })).toThrow(
      /TELEGRAM_WEBHOOK_SECRET/,
    );
  });
});
