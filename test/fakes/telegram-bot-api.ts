import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small Telegram Bot API server that the tests own: the bot under test
 * gets its address as TELEGRAM_API_ROOT. It keeps private chats, messages and
 * their edits, hands updates out by long polling with offsets (or posts them
 * to a webhook), and refuses what Telegram refuses, with Telegram's error
 * texts: bad markup, callback data over 64 bytes, non-public button URLs, a
 * message edited to the same content, a callback query answered twice, a
 * second poller (409), a wrong token. Tests can also make the next calls of
 * a method fail (429 with retry_after, 5xx).
 */

type Json = Record<string, unknown>;

export interface FakeUser {
  id: number;
  is_bot: false;
  first_name: string;
  username?: string;
  language_code?: string;
}

export interface FakeMessage {
  message_id: number;
  from?: Json;
  chat: { id: number; type: 'private'; first_name: string; username?: string };
  date: number;
  edit_date?: number;
  text: string;
  entities?: Json[];
  reply_markup?: {
    inline_keyboard: Array<Array<Json & { text: string; callback_data?: string; url?: string }>>;
  };
}

export interface Update {
  update_id: number;
  message?: FakeMessage;
  callback_query?: Json & { id: string; data: string };
  inline_query?: Json & { id: string; query: string };
}

export interface Call {
  method: string;
  params: Json;
  /** performance.now() when the call arrived. */
  at: number;
  ok: boolean;
  result?: unknown;
  error?: { error_code: number; description: string };
}

class Refusal extends Error {
  readonly code: number;
  readonly parameters: Json | undefined;
  constructor(code: number, description: string, parameters?: Json) {
    super(description);
    this.code = code;
    this.parameters = parameters;
  }
}

const bad = (what: string) => new Refusal(400, `Bad Request: ${what}`);
const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';
const QUERY_TOO_OLD = 'query is too old and response timeout expired or query ID is invalid';

/** Tags Telegram's HTML parse mode knows; anything else is refused. */
const HTML_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'a',
  'code',
  'pre',
  'tg-spoiler',
  'span',
  'blockquote',
  'tg-emoji',
]);
const ENTITY_TYPES = new Set([
  'bold',
  'italic',
  'underline',
  'strikethrough',
  'spoiler',
  'code',
  'pre',
  'text_link',
  'text_mention',
  'custom_emoji',
  'blockquote',
  'expandable_blockquote',
  'mention',
  'hashtag',
  'cashtag',
  'bot_command',
  'url',
  'email',
  'phone_number',
  'date_time',
]);

/** Telegram parses HTML itself; a stray `<` or an unknown tag is refused with its byte offset. */
function checkHtml(text: string): void {
  const open: string[] = [];
  const re = /<(\/?)([^\s>/]*)[^>]*>|<|&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);)/gi;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const offset = Buffer.byteLength(text.slice(0, m.index));
    if (m[0] === '<') throw bad(`can't parse entities: Unsupported start tag "" at byte offset ${offset}`);
    if (m[0] === '&')
      throw bad(`can't parse entities: Can't find end of the entity starting at byte offset ${offset}`);
    const name = (m[2] ?? '').toLowerCase();
    if (!HTML_TAGS.has(name))
      throw bad(`can't parse entities: Unsupported start tag "${name}" at byte offset ${offset}`);
    if (m[1]) {
      if (open.pop() !== name)
        throw bad(
          `can't parse entities: Unmatched end tag at byte offset ${offset}, expected "</${open.at(-1) ?? ''}>", found "</${name}>"`,
        );
    } else open.push(name);
  }
  if (open.length > 0)
    throw bad(`can't parse entities: Can't find end tag corresponding to start tag "${open.at(-1)}"`);
}

/** MarkdownV2: these characters must be escaped with a backslash outside entities. */
function checkMarkdownV2(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\') {
      i++;
      continue;
    }
    if ('_*[]()~`>#+-=|{}.!'.includes(ch) && !'_*~`|'.includes(ch))
      throw bad(
        `can't parse entities: Character '${ch}' is reserved and must be escaped with the preceding '\\'`,
      );
  }
}

/** Telegram accepts http(s) to a public host, or tg://; localhost and private addresses are refused. */
function isButtonUrl(url: string): boolean {
  try {
    const u = new URL(url);
    if (u.protocol === 'tg:') return true;
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    const h = u.hostname;
    if (h === 'localhost' || !h.includes('.') || h.startsWith('[')) return false;
    return !/^(127|10|0)\.|^192\.168\.|^172\.(1[6-9]|2\d|3[01])\.|^169\.254\./.test(h);
  } catch {
    return false;
  }
}

function checkText(params: Json, textKey = 'text'): { text: string; entities?: Json[] } {
  const text = params[textKey];
  if (typeof text !== 'string' || text.trim() === '') throw bad('message text is empty');
  if (text.length > 4096) throw bad('message is too long');
  const mode = params.parse_mode;
  if (mode !== undefined && params.entities !== undefined)
    throw bad("can't parse entities: entities and parse_mode can't be used together");
  if (mode === 'HTML') checkHtml(text);
  else if (mode === 'MarkdownV2') checkMarkdownV2(text);
  else if (mode !== undefined && mode !== 'Markdown') throw bad(`unsupported parse_mode`);
  const entities = params.entities as Json[] | undefined;
  for (const e of entities ?? []) {
    const offset = e.offset as number;
    const length = e.length as number;
    if (!ENTITY_TYPES.has(e.type as string))
      throw bad(`can't parse entities: unsupported entity type ${e.type}`);
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 1 ||
      offset + length > text.length
    )
      throw bad(`can't parse entities: entity beyond the end of the text`);
  }
  return entities && entities.length > 0 ? { text, entities } : { text };
}

function checkMarkup(markup: unknown): FakeMessage['reply_markup'] | undefined {
  if (markup === undefined) return undefined;
  const keyboard = (markup as Json).inline_keyboard;
  if (!Array.isArray(keyboard)) throw bad("can't parse reply keyboard markup JSON object");
  for (const row of keyboard) {
    if (!Array.isArray(row))
      throw bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
    for (const b of row as Json[]) {
      if (typeof b.text !== 'string' || b.text === '') throw bad('BUTTON_TEXT_EMPTY');
      const kinds = [
        'callback_data',
        'url',
        'switch_inline_query',
        'switch_inline_query_current_chat',
        'pay',
      ].filter((k) => b[k] !== undefined);
      if (kinds.length !== 1) throw bad('BUTTON_TYPE_INVALID');
      if (b.callback_data !== undefined) {
        const size = Buffer.byteLength(String(b.callback_data));
        if (size < 1 || size > 64) throw bad('BUTTON_DATA_INVALID');
      }
      if (b.url !== undefined && !isButtonUrl(String(b.url)))
        throw bad(`inline keyboard button URL '${b.url}' is invalid: Wrong HTTP URL`);
    }
  }
  return markup as FakeMessage['reply_markup'];
}

/** Deep equality of what Telegram compares for "not modified": text, entities, keyboard. */
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

interface Waiter {
  res: ServerResponse;
  limit: number;
  timer: NodeJS.Timeout;
}

export class FakeTelegram {
  readonly token: string;
  readonly bot = { id: 7_000_000_001, is_bot: true, first_name: 'Armazém', username: 'armazem_test_bot' };
  /** Every Bot API call, in order of arrival. */
  readonly calls: Call[] = [];
  /** Everything the bot asked of setMyCommands, by language_code ('' for the default). */
  readonly commands = new Map<string, Array<{ command: string; description: string }>>();
  webhook: { url: string; secret_token?: string; allowed_updates?: string[] } | null = null;

  private server: Server | null = null;
  private updates: Update[] = [];
  private nextUpdateId = 100_000;
  private poller: Waiter | null = null;
  private readonly chats = new Map<number, Map<number, FakeMessage>>();
  private readonly nextMessageId = new Map<number, number>();
  private readonly openQueries = new Map<string, 'callback' | 'inline'>();
  private nextQueryId = 1;
  private readonly faults = new Map<
    string,
    Array<{ code: number; description: string; parameters?: Json }>
  >();
  private readonly listeners = new Set<(call: Call) => void>();
  private readonly users = new Map<number, FakeUser>();
  private delivering = false;
  /** Where a webhook URL really points (tests use https URLs for servers on 127.0.0.1). */
  webhookTarget: (url: string) => string = (url) => url;

  /** The benchmark turns off keeping every call and message, which would grow without end. */
  private readonly recordCalls: boolean;
  private readonly messagesPerChat: number;

  constructor(
    token = '123456789:AAFakeTokenForTheTestsOnly_0123456789',
    opts: { recordCalls?: boolean; messagesPerChat?: number } = {},
  ) {
    this.token = token;
    this.recordCalls = opts.recordCalls ?? true;
    this.messagesPerChat = opts.messagesPerChat ?? Number.POSITIVE_INFINITY;
  }

  /** The TELEGRAM_API_ROOT to give the bot. */
  get apiRoot(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async close(): Promise<void> {
    this.webhook = null;
    if (this.poller) this.answer(this.poller.res, 200, { ok: true, result: [] });
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  // ── what users do ─────────────────────────────────────────────────────────

  user(id: number, over: Partial<FakeUser> = {}): FakeUser {
    const u: FakeUser = { id, is_bot: false, first_name: `Cliente ${id}`, language_code: 'pt-br', ...over };
    this.users.set(id, u);
    return u;
  }

  /** The user types a message (a command or text) in their private chat with the bot. */
  sendText(user: FakeUser, text: string): Update {
    const command = /^\/\S+/.exec(text);
    const message = this.store(user.id, {
      from: { ...user },
      text,
      ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
    });
    return this.push({ message });
  }

  /** The user presses an inline button of a message the bot sent them. */
  press(user: FakeUser, message: FakeMessage, data: string): Update {
    const found = message.reply_markup?.inline_keyboard.flat().some((b) => b.callback_data === data);
    if (!found) throw new Error(`message ${message.message_id} has no button ${data}`);
    const id = `${this.nextQueryId++}${user.id}`;
    this.openQueries.set(id, 'callback');
    return this.push({
      callback_query: { id, from: user, message, chat_instance: `ci${user.id}`, data },
    });
  }

  /** The user presses the button whose text includes `label`. */
  pressLabel(user: FakeUser, message: FakeMessage, label: string): Update {
    const b = message.reply_markup?.inline_keyboard.flat().find((x) => x.text.includes(label));
    if (!b?.callback_data) throw new Error(`message ${message.message_id} has no button "${label}"`);
    return this.press(user, message, b.callback_data);
  }

  /** The user types `@bot query` in any chat. */
  inlineQuery(user: FakeUser, query: string, offset = ''): Update {
    const id = `${this.nextQueryId++}${user.id}`;
    this.openQueries.set(id, 'inline');
    return this.push({ inline_query: { id, from: user, query, offset, chat_type: 'sender' } });
  }

  // ── what tests look at ────────────────────────────────────────────────────

  /** The chat's messages as they are now (edits applied), oldest first. */
  messages(chatId: number): FakeMessage[] {
    return [...(this.chats.get(chatId)?.values() ?? [])];
  }

  /** The latest message the bot sent in the chat. */
  lastBotMessage(chatId: number): FakeMessage | undefined {
    return this.messages(chatId)
      .filter((m) => (m.from as Json | undefined)?.id === this.bot.id)
      .at(-1);
  }

  /** Resolves with the first call (from now on, or already made after `since`) that matches. */
  waitForCall(match: (c: Call) => boolean, timeoutMs = 10_000, since = this.calls.length): Promise<Call> {
    const earlier = this.calls.slice(since).find(match);
    if (earlier) return Promise.resolve(earlier);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listen);
        reject(
          new Error(
            `no matching call within ${timeoutMs} ms; calls: ${this.calls.map((c) => c.method).join(', ')}`,
          ),
        );
      }, timeoutMs);
      const listen = (c: Call) => {
        if (!match(c)) return;
        clearTimeout(timer);
        this.listeners.delete(listen);
        resolve(c);
      };
      this.listeners.add(listen);
    });
  }

  /** Calls every listener for every call (the benchmark measures with this). */
  onCall(listener: (call: Call) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next `times` calls of `method` are refused with this error (e.g. 429 with retry_after). */
  failNext(
    method: string,
    times: number,
    error: { code: number; description: string; parameters?: Json },
  ): void {
    this.faults.set(method, [
      ...(this.faults.get(method) ?? []),
      ...Array.from({ length: times }, () => error),
    ]);
  }

  /** Updates handed out but not yet confirmed by a later offset, plus those not yet fetched. */
  get unconfirmed(): number {
    return this.updates.length;
  }

  // ── the Bot API ───────────────────────────────────────────────────────────

  private push(body: Omit<Update, 'update_id'>): Update {
    const update = { update_id: this.nextUpdateId++, ...body } as Update;
    this.updates.push(update);
    if (this.webhook) void this.deliver();
    else if (this.poller) {
      const waiter = this.poller;
      this.poller = null;
      clearTimeout(waiter.timer);
      this.answer(waiter.res, 200, { ok: true, result: this.updates.slice(0, waiter.limit) });
    }
    return update;
  }

  private store(chatId: number, fields: Partial<FakeMessage>): FakeMessage {
    const id = this.nextMessageId.get(chatId) ?? 1;
    this.nextMessageId.set(chatId, id + 1);
    const user = this.users.get(chatId);
    const message = {
      message_id: id,
      chat: { id: chatId, type: 'private', first_name: user?.first_name ?? 'Cliente' },
      date: Math.floor(Date.now() / 1000),
      ...fields,
    } as FakeMessage;
    const chat = this.chats.get(chatId) ?? new Map<number, FakeMessage>();
    this.chats.set(chatId, chat);
    chat.set(id, message);
    if (chat.size > this.messagesPerChat) chat.delete(chat.keys().next().value as number);
    return structuredClone(message);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now();
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (!match) return this.answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method = ''] = match;
    if (token !== this.token)
      return this.answer(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    let params: Json;
    try {
      params = parseParams(req, Buffer.concat(chunks).toString('utf8'));
    } catch {
      return this.answer(res, 400, { ok: false, error_code: 400, description: 'Bad Request: invalid JSON' });
    }
    const call: Call = { method, params, at, ok: false };
    try {
      const fault = this.faults.get(method)?.shift();
      if (fault) throw new Refusal(fault.code, fault.description, fault.parameters);
      if (method === 'getUpdates') {
        this.getUpdates(params, res);
        call.ok = true;
        return this.record(call);
      }
      call.result = this.call(method, params);
      call.ok = true;
      this.record(call);
      this.answer(res, 200, { ok: true, result: call.result });
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      call.error = { error_code: err.code, description: err.message };
      this.record(call);
      this.answer(res, err.code, {
        ok: false,
        error_code: err.code,
        description: err.message,
        ...(err.parameters ? { parameters: err.parameters } : {}),
      });
    }
  }

  private record(call: Call): void {
    if (this.recordCalls) this.calls.push(call);
    for (const l of this.listeners) l(call);
  }

  private answer(res: ServerResponse, status: number, body: unknown): void {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /** Long polling: confirm below `offset`, answer at once if anything waits, else hold up to `timeout` s. */
  private getUpdates(params: Json, res: ServerResponse): void {
    if (this.webhook)
      throw new Refusal(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    const offset = Number(params.offset ?? 0);
    const limit = Math.min(Math.max(Number(params.limit ?? 100), 1), 100);
    const timeout = Math.min(Math.max(Number(params.timeout ?? 0), 0), 50);
    if (offset > 0) this.updates = this.updates.filter((u) => u.update_id >= offset);
    if (this.poller) {
      // Telegram ends the earlier request: only one poller per bot.
      const earlier = this.poller;
      this.poller = null;
      clearTimeout(earlier.timer);
      this.answer(earlier.res, 409, {
        ok: false,
        error_code: 409,
        description:
          'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      });
    }
    if (this.updates.length > 0 || timeout === 0) {
      this.answer(res, 200, { ok: true, result: this.updates.slice(0, limit) });
      return;
    }
    const waiter: Waiter = {
      res,
      limit,
      timer: setTimeout(() => {
        if (this.poller === waiter) this.poller = null;
        this.answer(res, 200, { ok: true, result: [] });
      }, timeout * 1000),
    };
    this.poller = waiter;
    res.on('close', () => {
      clearTimeout(waiter.timer);
      if (this.poller === waiter) this.poller = null;
    });
  }

  private call(method: string, p: Json): unknown {
    switch (method) {
      case 'getMe':
        return {
          ...this.bot,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: true,
          can_connect_to_business: false,
          has_main_web_app: false,
        };
      case 'sendMessage': {
        const chatId = Number(p.chat_id);
        if (!this.users.has(chatId)) throw bad('chat not found');
        const content = checkText(p);
        const markup = checkMarkup(p.reply_markup);
        return this.store(chatId, {
          from: this.botUser(),
          ...content,
          ...(markup ? { reply_markup: markup } : {}),
        });
      }
      case 'editMessageText': {
        if (p.inline_message_id !== undefined) {
          checkText(p);
          checkMarkup(p.reply_markup);
          return true;
        }
        const message = this.chats.get(Number(p.chat_id))?.get(Number(p.message_id));
        if (!message) throw bad('message to edit not found');
        if ((message.from as Json | undefined)?.id !== this.bot.id) throw bad("message can't be edited");
        const content = checkText(p);
        const markup = checkMarkup(p.reply_markup);
        if (
          message.text === content.text &&
          same(message.entities, content.entities) &&
          same(message.reply_markup, markup)
        )
          throw bad(NOT_MODIFIED);
        message.text = content.text;
        if (content.entities) message.entities = content.entities;
        else delete message.entities;
        if (markup) message.reply_markup = markup;
        else delete message.reply_markup;
        message.edit_date = Math.floor(Date.now() / 1000);
        return structuredClone(message);
      }
      case 'answerCallbackQuery': {
        const id = String(p.callback_query_id);
        if (this.openQueries.get(id) !== 'callback') throw bad(QUERY_TOO_OLD);
        if (typeof p.text === 'string' && p.text.length > 200) throw bad('MESSAGE_TOO_LONG');
        this.openQueries.delete(id);
        return true;
      }
      case 'answerInlineQuery': {
        const id = String(p.inline_query_id);
        if (this.openQueries.get(id) !== 'inline') throw bad(QUERY_TOO_OLD);
        const results = p.results as Json[];
        if (!Array.isArray(results)) throw bad('field "results" must be an Array');
        if (results.length > 50) throw bad('RESULTS_TOO_MUCH');
        const ids = new Set<string>();
        for (const r of results) {
          const rid = String(r.id ?? '');
          if (rid === '' || Buffer.byteLength(rid) > 64) throw bad('RESULT_ID_INVALID');
          if (ids.has(rid)) throw bad('RESULT_ID_DUPLICATE');
          ids.add(rid);
          if (r.type === 'article') {
            if (typeof r.title !== 'string' || r.title === '') throw bad('RESULT_TITLE_EMPTY');
            const content = r.input_message_content as Json | undefined;
            if (!content) throw bad('MESSAGE_EMPTY');
            checkText(content, 'message_text');
          }
          checkMarkup(r.reply_markup);
        }
        if (typeof p.next_offset === 'string' && Buffer.byteLength(p.next_offset) > 64)
          throw bad('NEXT_OFFSET_INVALID');
        this.openQueries.delete(id);
        return true;
      }
      case 'setMyCommands': {
        const commands = p.commands as Array<{ command: string; description: string }>;
        if (!Array.isArray(commands) || commands.length > 100) throw bad('BOT_COMMANDS_TOO_MUCH');
        for (const c of commands) {
          if (!/^[a-z0-9_]{1,32}$/.test(c.command ?? '')) throw bad('BOT_COMMAND_INVALID');
          if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256)
            throw bad('BOT_COMMAND_DESCRIPTION_INVALID');
        }
        this.commands.set(String(p.language_code ?? ''), commands);
        return true;
      }
      case 'getMyCommands':
        return this.commands.get(String(p.language_code ?? '')) ?? [];
      case 'setWebhook': {
        const url = String(p.url ?? '');
        if (url === '') {
          this.webhook = null;
          return true;
        }
        if (!url.startsWith('https://')) throw bad('bad webhook: An HTTPS URL must be provided for webhook');
        if (p.secret_token !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(String(p.secret_token)))
          throw bad('bad webhook: Secret token contains unallowed characters');
        this.webhook = {
          url,
          ...(p.secret_token ? { secret_token: String(p.secret_token) } : {}),
          ...(p.allowed_updates ? { allowed_updates: p.allowed_updates as string[] } : {}),
        };
        void this.deliver();
        return true;
      }
      case 'deleteWebhook':
        this.webhook = null;
        if (p.drop_pending_updates) this.updates = [];
        return true;
      case 'getWebhookInfo':
        return {
          url: this.webhook?.url ?? '',
          has_custom_certificate: false,
          pending_update_count: this.updates.length,
          ...(this.webhook?.allowed_updates ? { allowed_updates: this.webhook.allowed_updates } : {}),
        };
      default:
        throw new Refusal(404, 'Not Found');
    }
  }

  private botUser(): Json {
    return { id: this.bot.id, is_bot: true, first_name: this.bot.first_name, username: this.bot.username };
  }

  /** Webhook mode: updates are posted one at a time, in order; a refused or failed one is posted again. */
  private async deliver(): Promise<void> {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.webhook && this.updates.length > 0) {
        const hook = this.webhook;
        const update = this.updates[0] as Update;
        const ok = await fetch(this.webhookTarget(hook.url), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(hook.secret_token ? { 'x-telegram-bot-api-secret-token': hook.secret_token } : {}),
          },
          body: JSON.stringify(update),
        }).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) this.updates.shift();
        else await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      this.delivering = false;
    }
  }
}

function parseParams(req: IncomingMessage, body: string): Json {
  const query = Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams);
  const type = req.headers['content-type'] ?? '';
  if (body === '') return query;
  if (type.startsWith('application/json')) return { ...query, ...(JSON.parse(body) as Json) };
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const form = Object.fromEntries(new URLSearchParams(body));
    // Form fields that hold objects are JSON-serialised, as the Bot API expects.
    return Object.fromEntries(
      Object.entries({ ...query, ...form }).map(([k, v]) => {
        try {
          return [k, /^[[{]/.test(v) ? JSON.parse(v) : v];
        } catch {
          return [k, v];
        }
      }),
    );
  }
  throw new Error('unsupported content type');
}
