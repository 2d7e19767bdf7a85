import { registerHooks } from 'node:module';

// Preloaded (NODE_OPTIONS=--import) by the tracing test: prints every OpenTelemetry module the process resolves.
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (resolved.url.includes('/@opentelemetry/')) process.stderr.write(`otel-module ${resolved.url}\n`);
    return resolved;
  },
});
