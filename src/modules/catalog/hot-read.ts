import type { HotRead } from '../../http/hot-reads.ts';
import type { CatalogCache } from './catalog.cache.ts';
import { JSON_TYPE } from './catalog.routes.ts';

// Only the canonical form; anything else (a query string, leading zeros, a trailing slash) goes to the route.
const PRODUCT_URL = /^\/products\/([1-9][0-9]{0,15})$/;

/** GET /products/:id answered from the instance's near copy, as the route answers a hit. */
export function productHotRead(cache: CatalogCache): HotRead {
  return {
    route: '/products/:id',
    headers: { 'content-type': JSON_TYPE, 'x-cache': 'HIT' },
    body(url) {
      const match = PRODUCT_URL.exec(url);
      if (match === null) return undefined;
      const id = Number(match[1]);
      return Number.isSafeInteger(id) ? cache.nearProduct(id) : undefined;
    },
  };
}
