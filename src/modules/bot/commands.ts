import type { Api } from 'grammy';
import { TRANSLATIONS } from './i18n.ts';

/** The command menu Telegram shows, in the order shown. Names are the store's Portuguese ones in every language. */
export const COMMANDS = [
  'start',
  'menu',
  'produtos',
  'carrinho',
  'pedidos',
  'site',
  'social',
  'ajuda',
  'desvincular',
];

/** Portuguese for everyone, English for users whose app is in English. */
export async function registerCommands(api: Api): Promise<void> {
  const list = (locale: 'pt' | 'en') =>
    COMMANDS.map((command) => ({ command, description: TRANSLATIONS[locale](`cmd-${command}`) }));
  await api.setMyCommands(list('pt'));
  await api.setMyCommands(list('en'), { language_code: 'en' });
}
