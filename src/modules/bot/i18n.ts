import { FluentBundle, FluentResource } from '@fluent/bundle';
import en from './locales/en.ts';
import pt from './locales/pt.ts';

export type Locale = 'pt' | 'en';
export type Translate = (key: string, args?: Record<string, string | number>) => string;

const SOURCES: Record<Locale, [string, string]> = { pt: ['pt-BR', pt], en: ['en', en] };

function translator(tag: string, source: string): Translate {
  // No Unicode isolation marks around values: the texts go out with entities whose offsets must match.
  const bundle = new FluentBundle(tag, { useIsolating: false });
  const errors = bundle.addResource(new FluentResource(source));
  if (errors.length > 0) throw new Error(`locale ${tag}: ${errors.map(String).join('; ')}`);
  return (key, args) => {
    const message = bundle.getMessage(key);
    if (!message?.value) throw new Error(`locale ${tag}: no message ${key}`);
    const problems: Error[] = [];
    const text = bundle.formatPattern(message.value, args, problems);
    if (problems.length > 0) throw new Error(`locale ${tag}, ${key}: ${problems.map(String).join('; ')}`);
    return text;
  };
}

/** Both locales, parsed once; a missing message or argument throws, so tests catch it. */
export const TRANSLATIONS: Record<Locale, Translate> = {
  pt: translator(...SOURCES.pt),
  en: translator(...SOURCES.en),
};

/** Portuguese unless the user's Telegram app is in English. */
export const localeOf = (languageCode: string | undefined): Locale =>
  languageCode?.toLowerCase().startsWith('en') ? 'en' : 'pt';

const MONEY: Record<Locale, Intl.NumberFormat> = {
  pt: new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' }),
  en: new Intl.NumberFormat('en-US', { style: 'currency', currency: 'BRL' }),
};

/** An exact decimal string ("1234.50") as the locale writes reais: "R$ 1.234,50". */
export const formatMoney = (amount: string, locale: Locale): string =>
  // Two-place decimals below 10^13 survive the trip through a double exactly enough to print.
  MONEY[locale].format(Number(amount)).replace(/\u00a0/g, ' ');
