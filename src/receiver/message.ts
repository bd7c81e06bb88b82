// A message as the receiver reports it (Message), the line `netconsole listen` prints for it, and
// the extended body taken apart: the text and the ` KEY=value` lines, unescaped (netconsd N14).
export interface Message {
  /** `address:port` of the sender. */
  source: string;
  extended: boolean;
  level?: number;
  facility?: number;
  seq?: string;
  tsUsec?: string;
  /** The flag was `c`: later messages continue this one. */
  cont?: boolean;
  /** The flag was `+`: this message continues the previous one (present only when true). */
  continuation?: boolean;
  release?: string;
  /** The message text, unescaped (extended) or as received up to its first NUL (legacy). */
  text: string;
  /** Extended: the ` KEY=value` lines after the text (dictionary, userdata, sysdata). */
  dict?: Record<string, string>;
  /** Fragments were missing: the text stops at the first missing byte. */
  incomplete?: boolean;
  /** Out of sequence for its source (netconsd's [OOS]): a seq it sent more than 5 s ago, again. */
  oos?: boolean;
}

/** The line `netconsole listen` prints for a message: `source <level>seq [incomplete] [oos] text`. */
export function formatMessage(m: Message): string {
  const head = m.extended ? `<${m.level}>${m.seq} ${m.incomplete ? '[incomplete] ' : ''}${m.oos ? '[oos] ' : ''}` : '';
  return `${m.source} ${head}${m.text}`;
}

/** Reverses the extended escaping: `\xHH` back to the byte. */
export function unescape(text: string): string {
  const bytes = Buffer.from(
    text.replace(/\\x([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  );
  return bytes.toString('utf8');
}

/**
 * N14 (terminate_msg_and_dict): the text is up to the first newline, the dictionary after it;
 * the dictionary's ` KEY=value` lines become a record.
 */
export function splitBody(body: string): { text: string; dict: Record<string, string> } {
  const lines = body.split('\n');
  const dict: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (!line.startsWith(' ')) continue;
    const eq = line.indexOf('=');
    if (eq > 1) dict[unescape(line.slice(1, eq))] = unescape(line.slice(eq + 1));
  }
  return { text: unescape(lines[0]), dict };
}
