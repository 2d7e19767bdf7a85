/**
 * What a button press asks for, packed into Telegram's callback_data (at
 * most 64 bytes): one letter per action, ids in base 36, free text last.
 * Pure; `decode` returns null for anything it did not make (old or forged).
 */
export type Action =
  | { kind: 'menu' }
  | { kind: 'category'; category: string; after?: number; before?: number }
  | { kind: 'search'; term: string; after?: number; before?: number }
  | { kind: 'product'; id: number }
  | { kind: 'refresh'; id: number }
  | { kind: 'add'; id: number }
  | { kind: 'cart' }
  | { kind: 'more'; id: number }
  | { kind: 'less'; id: number }
  | { kind: 'clear' }
  | { kind: 'checkout'; cartId: string }
  | { kind: 'orders' }
  | { kind: 'order'; id: number }
  | { kind: 'payCard'; id: number }
  | { kind: 'payCredit'; id: number }
  | { kind: 'cancel'; id: number };

export const CALLBACK_DATA_MAX_BYTES = 64;
const CATEGORY = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const CART_ID = /^[A-Za-z0-9_-]{1,22}$/;

const id36 = (n: number) => n.toString(36);
const parseId = (s: string): number | null => {
  if (!/^[0-9a-z]{1,11}$/.test(s)) return null;
  const n = Number.parseInt(s, 36);
  return Number.isSafeInteger(n) && n >= 1 ? n : null;
};

/** Byte size of text that a page button carries with a direction and an id: 1 + 1 + 11 + 1. */
const PAGE_PREFIX_BYTES = 14;

/** The longest prefix of `term` that fits a page button, cut at a character boundary. */
export function fitTerm(term: string): string {
  let out = '';
  for (const ch of term) {
    if (Buffer.byteLength(out + ch) > CALLBACK_DATA_MAX_BYTES - PAGE_PREFIX_BYTES) break;
    out += ch;
  }
  return out;
}

const ID_ACTIONS = {
  p: 'product',
  r: 'refresh',
  a: 'add',
  '+': 'more',
  '-': 'less',
  d: 'order',
  y: 'payCard',
  w: 'payCredit',
  z: 'cancel',
} as const;
type IdKind = (typeof ID_ACTIONS)[keyof typeof ID_ACTIONS];
const LETTER_OF = Object.fromEntries(Object.entries(ID_ACTIONS).map(([k, v]) => [v, k])) as Record<
  IdKind,
  string
>;

function page(letter: string, text: string, after?: number, before?: number): string {
  if (before !== undefined) return `${letter}p${id36(before)}:${text}`;
  return `${letter}n${after === undefined ? '' : id36(after)}:${text}`;
}

/** The callback_data for an action; throws when it would not fit Telegram's 64 bytes. */
export function encode(a: Action): string {
  let data: string;
  switch (a.kind) {
    case 'menu':
      data = 'm';
      break;
    case 'cart':
      data = 'k';
      break;
    case 'clear':
      data = 'x';
      break;
    case 'orders':
      data = 'l';
      break;
    case 'checkout':
      data = `o${a.cartId}`;
      break;
    case 'category':
      data = page('c', a.category, a.after, a.before);
      break;
    case 'search':
      data = page('s', a.term, a.after, a.before);
      break;
    default:
      data = `${LETTER_OF[a.kind]}${id36(a.id)}`;
  }
  if (Buffer.byteLength(data) > CALLBACK_DATA_MAX_BYTES)
    throw new Error(`callback data over ${CALLBACK_DATA_MAX_BYTES} bytes: ${data}`);
  return data;
}

export function decode(data: string): Action | null {
  const letter = data[0];
  const rest = data.slice(1);
  switch (letter) {
    case 'm':
      return rest === '' ? { kind: 'menu' } : null;
    case 'k':
      return rest === '' ? { kind: 'cart' } : null;
    case 'x':
      return rest === '' ? { kind: 'clear' } : null;
    case 'l':
      return rest === '' ? { kind: 'orders' } : null;
    case 'o':
      return CART_ID.test(rest) ? { kind: 'checkout', cartId: rest } : null;
    case 'c':
    case 's': {
      const m = /^([np])([0-9a-z]*):(.+)$/s.exec(rest);
      if (!m) return null;
      const [, dir, idText, text] = m as unknown as [string, 'n' | 'p', string, string];
      const id = idText === '' ? undefined : parseId(idText);
      if (id === null || (dir === 'p' && id === undefined)) return null;
      const position = id === undefined ? {} : dir === 'n' ? { after: id } : { before: id };
      if (letter === 'c')
        return CATEGORY.test(text) ? { kind: 'category', category: text, ...position } : null;
      return { kind: 'search', term: text, ...position };
    }
    default: {
      const kind = ID_ACTIONS[letter as keyof typeof ID_ACTIONS];
      const id = kind ? parseId(rest) : null;
      return kind && id !== null ? { kind, id } : null;
    }
  }
}
