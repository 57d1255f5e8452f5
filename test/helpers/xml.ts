/**
 * A small, strict XML well-formedness check and tree for the SVG tests (no dependency): elements
 * properly nested, attributes quoted and unique, `<` never raw in text or attributes, `&` only as
 * an entity, one root element. Throws with the offset of the first fault.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  parent: XmlElement | null;
}

const NAME = '[A-Za-z_][\\w:.-]*';
const ATTR = new RegExp(`\\s+(${NAME})\\s*=\\s*"([^"<]*)"`, 'y');
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;

function decode(s: string, at: number): string {
  for (let i = s.indexOf('&'); i >= 0; i = s.indexOf('&', i + 1)) {
    ENTITY.lastIndex = i;
    if (!ENTITY.test(s)) throw new Error(`bare & at ${at + i}`);
  }
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  if (src.startsWith('<?xml')) {
    const e = src.indexOf('?>');
    if (e < 0) throw new Error('unterminated XML declaration');
    i = e + 2;
  }
  const doc: XmlElement = { name: '#document', attrs: {}, children: [], text: '', parent: null };
  let cur = doc;
  const openTag = new RegExp(`<(${NAME})`, 'y');
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    if (text.trim() !== '') {
      if (cur === doc) throw new Error(`text outside the root element at ${i}`);
      cur.text += decode(text, i);
    }
    if (lt < 0) break;
    i = lt;
    if (src.startsWith('<!--', i)) {
      const e = src.indexOf('-->', i + 4);
      if (e < 0) throw new Error(`unterminated comment at ${i}`);
      i = e + 3;
      continue;
    }
    if (src.startsWith('</', i)) {
      const m = new RegExp(`</(${NAME})\\s*>`, 'y');
      m.lastIndex = i;
      const r = m.exec(src);
      if (!r) throw new Error(`malformed end tag at ${i}`);
      if (r[1] !== cur.name) throw new Error(`</${r[1]}> closes <${cur.name}> at ${i}`);
      cur = cur.parent!;
      i = m.lastIndex;
      continue;
    }
    openTag.lastIndex = i;
    const t = openTag.exec(src);
    if (!t) throw new Error(`malformed tag at ${i}`);
    const el: XmlElement = { name: t[1]!, attrs: {}, children: [], text: '', parent: cur };
    i = openTag.lastIndex;
    for (;;) {
      ATTR.lastIndex = i;
      const a = ATTR.exec(src);
      if (!a) break;
      if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]} at ${i}`);
      el.attrs[a[1]!] = decode(a[2]!, i);
      i = ATTR.lastIndex;
    }
    while (/\s/.test(src[i] ?? '')) i++;
    if (cur === doc && doc.children.length > 0) throw new Error(`second root element at ${i}`);
    cur.children.push(el);
    if (src.startsWith('/>', i)) i += 2;
    else if (src[i] === '>') {
      i += 1;
      cur = el;
    } else throw new Error(`malformed tag <${el.name}> at ${i}`);
  }
  if (cur !== doc) throw new Error(`<${cur.name}> is never closed`);
  if (doc.children.length !== 1) throw new Error('no root element');
  return doc.children[0]!;
}

/** Every element below `el` (depth first) that passes `test`. */
export function findAll(el: XmlElement, test: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (test(c)) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}
