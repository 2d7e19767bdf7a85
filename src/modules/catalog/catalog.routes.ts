import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { AppError, ERRORS } from '../../errors.ts';
import type { AppInstance } from '../../http/app-instance.ts';
import { BEARER, requireAdmin } from '../../http/auth.ts';
import { decodeCursor, toPage } from '../../http/cursor.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import { escapeLike } from '../../platform/sql.ts';
import { type CatalogCache, canonicalListQuery } from './catalog.cache.ts';
import {
  type CatalogRepository,
  PRODUCT_IN_USE,
  type ProductValues,
  STOCK_TOO_LARGE,
} from './catalog.repository.ts';
import { IdParams, ListQuery, Product, ProductInput, ProductPage, ProductPatch } from './catalog.schemas.ts';
import { parseMoney } from './price.ts';

export interface CatalogDeps {
  repository: CatalogRepository;
  cache: CatalogCache;
}

export const JSON_TYPE = 'application/json; charset=utf-8';

function sendCached(reply: FastifyReply, body: string, status: 'HIT' | 'MISS'): FastifyReply {
  return reply.header('x-cache', status).type(JSON_TYPE).send(body);
}

/** A validated body in the repository's terms: trimmed name, exact price. */
function toValues(input: ProductPatch): Partial<ProductValues> {
  const out: Partial<ProductValues> = {};
  if (input.name !== undefined) out.name = input.name.trim();
  if (input.description !== undefined) out.description = input.description;
  if (input.price !== undefined) out.price = parseMoney(input.price, 'body.price');
  if (input.stock !== undefined) out.stock = input.stock;
  if (input.category !== undefined) out.category = input.category;
  return out;
}

/** A full product (POST, PUT): an omitted description is empty. */
function toFullValues(input: ProductInput): ProductValues {
  return { description: '', ...toValues(input) } as ProductValues;
}

const stockTooLarge = () =>
  new AppError({
    code: 'stock_too_large',
    detail: 'this stock, with the units orders hold, would exceed 2147483647',
    errors: [{ field: 'body.stock', message: 'with the units orders hold, would exceed 2147483647' }],
  });

export function catalogRoutes(app: AppInstance, { repository, cache }: CatalogDeps): void {
  app.get(
    '/products',
    {
      schema: {
        tags: ['catalog'],
        summary: 'List products (filters, cursor pages, cached)',
        querystring: ListQuery,
        response: { 200: ProductPage, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const afterId = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
      const minPrice = q.minPrice === undefined ? undefined : parseMoney(q.minPrice, 'query.minPrice');
      const maxPrice = q.maxPrice === undefined ? undefined : parseMoney(q.maxPrice, 'query.maxPrice');
      const key = canonicalListQuery(q);
      const cached = await cache.readList(key);
      if (cached.hit) return sendCached(reply, cached.body, 'HIT');
      const rows = await repository.list({
        search: q.search === undefined ? undefined : escapeLike(q.search.toLowerCase()),
        category: q.category,
        minPrice,
        maxPrice,
        afterId,
        limit: q.limit + 1,
      });
      const page = toPage(rows, q.limit);
      const body = reply.serialize(page) as string;
      cache.storeList(key, cached, body);
      return sendCached(reply, body, 'MISS');
    },
  );

  app.get(
    '/products/:id',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Get a product (cached)',
        params: IdParams,
        response: { 200: Product, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const cached = await cache.readProduct(id);
      if (cached.hit) return sendCached(reply, cached.body, 'HIT');
      const product = await repository.findById(id);
      if (!product) throw ERRORS.notFound('product', id);
      const body = reply.serialize(product) as string;
      cache.storeProduct(id, cached, body);
      return sendCached(reply, body, 'MISS');
    },
  );

  // Writes: admins only.
  app.register(async (writes: AppInstance) => {
    writes.addHook('onRequest', requireAdmin);
    writes.post(
      '/products',
      {
        schema: {
          tags: ['catalog'],
          summary: 'Create a product',
          security: BEARER,
          body: ProductInput,
          response: { 201: Product, ...ProblemResponses },
        },
      },
      async (request, reply) => {
        const product = await repository.create(toFullValues(request.body));
        await cache.invalidateProduct(product.id);
        return reply.code(201).header('location', `/products/${product.id}`).send(product);
      },
    );

    writes.put(
      '/products/:id',
      {
        schema: {
          tags: ['catalog'],
          summary: 'Replace a product',
          security: BEARER,
          params: IdParams,
          body: ProductInput,
          response: { 200: Product, ...ProblemResponses },
        },
      },
      async (request) => {
        const product = await repository.update(request.params.id, toFullValues(request.body));
        if (!product) throw ERRORS.notFound('product', request.params.id);
        if (product === STOCK_TOO_LARGE) throw stockTooLarge();
        await cache.invalidateProduct(product.id);
        return product;
      },
    );

    writes.patch(
      '/products/:id',
      {
        schema: {
          tags: ['catalog'],
          summary: 'Change some fields of a product',
          security: BEARER,
          params: IdParams,
          body: ProductPatch,
          response: { 200: Product, ...ProblemResponses },
        },
      },
      async (request) => {
        const product = await repository.update(request.params.id, toValues(request.body));
        if (!product) throw ERRORS.notFound('product', request.params.id);
        if (product === STOCK_TOO_LARGE) throw stockTooLarge();
        await cache.invalidateProduct(product.id);
        return product;
      },
    );

    writes.delete(
      '/products/:id',
      {
        schema: {
          tags: ['catalog'],
          summary: 'Delete a product',
          security: BEARER,
          params: IdParams,
          response: { 204: Type.Null(), ...ProblemResponses },
        },
      },
      async (request, reply) => {
        const deleted = await repository.delete(request.params.id);
        if (deleted === PRODUCT_IN_USE) {
          throw ERRORS.conflict(
            'product_in_use',
            'params.id',
            'orders refer to this product; set its stock to 0 instead',
          );
        }
        if (!deleted) throw ERRORS.notFound('product', request.params.id);
        await cache.invalidateProduct(request.params.id);
        return reply.code(204).send(null);
      },
    );

    writes.delete(
      '/cache/clear',
      {
        schema: {
          tags: ['catalog'],
          summary: 'Empty the catalog cache',
          security: BEARER,
          response: {
            200: Type.Object({ cleared: Type.Integer({ description: 'Cached bodies removed' }) }),
            ...ProblemResponses,
          },
        },
      },
      async () => {
        if (cache.enabled && !cache.available()) throw ERRORS.cacheUnavailable();
        return { cleared: await cache.clear() };
      },
    );
  });
}
