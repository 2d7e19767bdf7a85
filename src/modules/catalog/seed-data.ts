import type pg from 'pg';
import type { CatalogCache } from './catalog.cache.ts';
import type { ProductValues } from './catalog.repository.ts';

/** Sample products of a regional organic store (seed 000) and a record shop (seed 002). */
export const SAMPLE_PRODUCTS: ProductValues[] = [
  {
    name: 'Limão Taiti orgânico (kg)',
    description: 'Colhido na semana, sem agrotóxicos.',
    price: '6.90',
    stock: 120,
    category: 'frutas',
  },
  {
    name: 'Maçã Fuji (kg)',
    description: 'Crocante e doce, da Serra Gaúcha.',
    price: '12.50',
    stock: 80,
    category: 'frutas',
  },
  {
    name: 'Açaí puro (500 g)',
    description: 'Polpa congelada, sem açúcar.',
    price: '24.00',
    stock: 40,
    category: 'congelados',
  },
  {
    name: 'Pão de queijo artesanal (1 kg)',
    description: 'Congelado, pronto para assar.',
    price: '32.90',
    stock: 35,
    category: 'congelados',
  },
  {
    name: 'Café especial torrado (250 g)',
    description: 'Grãos do Cerrado Mineiro, torra média.',
    price: '38.00',
    stock: 60,
    category: 'mercearia',
  },
  {
    name: 'Mel silvestre (500 g)',
    description: 'De apicultores da Chapada Diamantina.',
    price: '29.90',
    stock: 25,
    category: 'mercearia',
  },
  {
    name: 'Feijão preto orgânico (1 kg)',
    description: 'Safra nova.',
    price: '11.40',
    stock: 200,
    category: 'mercearia',
  },
  {
    name: 'Clube da Esquina — Milton Nascimento (LP)',
    description: 'Vinil 180 g, reedição.',
    price: '219.90',
    stock: 12,
    category: 'discos',
  },
  {
    name: 'Tropicália ou Panis et Circencis (LP)',
    description: 'Vinil, capa dupla.',
    price: '189.00',
    stock: 8,
    category: 'discos',
  },
  { name: 'Elis & Tom (CD)', description: 'Remasterizado.', price: '49.90', stock: 30, category: 'discos' },
];

/** Inserts the samples that are not there yet (matched by name); safe to run any number of times. */
export async function seedCatalog(db: pg.Pool, cache: CatalogCache): Promise<number[]> {
  const inserted: number[] = [];
  for (const p of SAMPLE_PRODUCTS) {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO products (name, description, price, stock, category)
       SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM products WHERE name = $1)
       RETURNING id`,
      [p.name, p.description, p.price, p.stock, p.category],
    );
    if (rows[0]) inserted.push(Number(rows[0].id));
  }
  // Seeded rows must not hide behind cached lists.
  for (const id of inserted) await cache.invalidateProduct(id);
  return inserted;
}
