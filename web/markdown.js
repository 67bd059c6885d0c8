// @ts-check
// A small Markdown renderer for the handbook (docs/), written for what the handbook uses:
// ATX headings with GitHub-style anchors, paragraphs, emphasis, inline code, fenced code
// blocks, nested lists, tables, links, images, block quotes, rules; HTML comments (the
// tutorials' test markers) are dropped. It builds DOM nodes and sets all text as text, never
// as HTML, so nothing in a page can inject markup or script. Links and image sources go
// through the caller's `resolve`, which decides where they point (or that they are left as
// text).

/**
 * Where a link or an image points, or null to show the link's text without a link.
 * @typedef {(target: string, kind: 'link' | 'image') => string | null} Resolve
 */

/**
 * The anchor GitHub gives a heading: lower case, punctuation removed, each space a hyphen;
 * a repeated anchor gets -1, -2, ... (`seen` counts them within one page).
 * @param {string} text
 * @param {Map<string, number>} [seen]
 * @returns {string}
 */
export function slugify(text, seen) {
  const base = text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
  if (!seen) {
    return base;
  }
  const count = seen.get(base) ?? 0;
  seen.set(base, count + 1);
  return count === 0 ? base : `${base}-${count}`;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])( +|$)(.*)$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;
const COMMENT_START = /^ {0,3}<!--/;

/**
 * @param {string} line
 * @returns {boolean}
 */
function isBlank(line) {
  return line.trim() === '';
}

/**
 * Whether `line` starts a block other than a paragraph (and so ends a paragraph).
 * @param {string} line
 * @returns {boolean}
 */
function startsBlock(line) {
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    COMMENT_START.test(line) ||
    /^ {0,3}([-*+]|\d{1,9}[.)]) +\S/.test(line)
  );
}

/**
 * The cells of a table row: split on `|` that are not escaped or inside code.
 * @param {string} line
 * @returns {string[]}
 */
function tableCells(line) {
  let text = line.trim();
  if (text.startsWith('|')) {
    text = text.slice(1);
  }
  if (text.endsWith('|') && !text.endsWith('\\|')) {
    text = text.slice(0, -1);
  }
  /** @type {string[]} */
  const cells = [];
  let cell = '';
  let inCode = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '\\' && text[index + 1] === '|') {
      cell += '|';
      index++;
    } else if (char === '`') {
      inCode = !inCode;
      cell += char;
    } else if (char === '|' && !inCode) {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += char;
    }
  }
  cells.push(cell.trim());
  return cells;
}

class Renderer {
  /**
   * @param {Resolve} resolve
   * @param {string} anchorPrefix
   */
  constructor(resolve, anchorPrefix) {
    this.resolve = resolve;
    this.anchorPrefix = anchorPrefix;
    /** @type {Map<string, number>} */
    this.anchors = new Map();
  }

  /**
   * Renders lines as blocks into `parent`.
   * @param {string[]} lines
   * @param {Node} parent
   */
  blocks(lines, parent) {
    let index = 0;
    while (index < lines.length) {
      const line = lines[index];
      if (isBlank(line)) {
        index++;
        continue;
      }
      const fence = FENCE.exec(line);
      if (fence) {
        index = this.fencedCode(lines, index, fence, parent);
        continue;
      }
      if (COMMENT_START.test(line)) {
        while (index < lines.length && !lines[index].includes('-->')) {
          index++;
        }
        index++;
        continue;
      }
      const heading = HEADING.exec(line);
      if (heading) {
        const level = heading[1].length;
        const element = document.createElement(/** @type {'h1'} */ (`h${level}`));
        this.inline(heading[2] ?? '', element);
        element.id = this.anchorPrefix + slugify(element.textContent ?? '', this.anchors);
        parent.appendChild(element);
        index++;
        continue;
      }
      if (RULE.test(line)) {
        parent.appendChild(document.createElement('hr'));
        index++;
        continue;
      }
      if (QUOTE.test(line)) {
        /** @type {string[]} */
        const quoted = [];
        while (index < lines.length && !isBlank(lines[index])) {
          const match = QUOTE.exec(lines[index]);
          quoted.push(match ? match[1] : lines[index]);
          index++;
        }
        const quote = document.createElement('blockquote');
        this.blocks(quoted, quote);
        parent.appendChild(quote);
        continue;
      }
      if (LIST_ITEM.test(line) && /\S/.test(/** @type {RegExpExecArray} */ (LIST_ITEM.exec(line))[4])) {
        index = this.list(lines, index, parent);
        continue;
      }
      if (line.includes('|') && index + 1 < lines.length && TABLE_SEPARATOR.test(lines[index + 1])) {
        index = this.table(lines, index, parent);
        continue;
      }
      /** @type {string[]} */
      const paragraph = [line.trim()];
      index++;
      while (index < lines.length && !isBlank(lines[index]) && !startsBlock(lines[index])) {
        paragraph.push(lines[index].trim());
        index++;
      }
      const element = document.createElement('p');
      this.inline(paragraph.join('\n'), element);
      parent.appendChild(element);
    }
  }

  /**
   * @param {string[]} lines
   * @param {number} start
   * @param {RegExpExecArray} fence
   * @param {Node} parent
   * @returns {number} the line after the block
   */
  fencedCode(lines, start, fence, parent) {
    const marker = fence[1];
    const indent = /** @type {string} */ (/^ */.exec(lines[start])?.[0]).length;
    /** @type {string[]} */
    const body = [];
    let index = start + 1;
    while (index < lines.length) {
      const closing = lines[index].trim();
      if (closing.startsWith(marker) && closing.replace(/[`~]/g, '') === '') {
        index++;
        break;
      }
      body.push(
        lines[index].slice(Math.min(indent, /** @type {string} */ (/^ */.exec(lines[index])?.[0]).length)),
      );
      index++;
    }
    const pre = document.createElement('pre');
    const code = document.createElement('code');
    if (fence[2]) {
      code.className = `language-${fence[2].replace(/[^\w-]/g, '')}`;
    }
    code.textContent = body.join('\n');
    pre.appendChild(code);
    parent.appendChild(pre);
    return index;
  }

  /**
   * A list and its nested lists: an item's lines are those indented deeper than its marker;
   * they are rendered as blocks of their own.
   * @param {string[]} lines
   * @param {number} start
   * @param {Node} parent
   * @returns {number} the line after the list
   */
  list(lines, start, parent) {
    const first = /** @type {RegExpExecArray} */ (LIST_ITEM.exec(lines[start]));
    const ordered = /\d/.test(first[2]);
    const list = document.createElement(ordered ? 'ol' : 'ul');
    if (ordered && parseInt(first[2], 10) !== 1) {
      list.setAttribute('start', String(parseInt(first[2], 10)));
    }
    const baseIndent = first[1].length;
    let index = start;
    let loose = false;
    /** @type {string[][]} */
    const items = [];
    while (index < lines.length) {
      const match = LIST_ITEM.exec(lines[index]);
      if (!match || match[1].length !== baseIndent || /\d/.test(match[2]) !== ordered) {
        break;
      }
      const contentIndent = match[1].length + match[2].length + Math.max(1, match[3].length);
      /** @type {string[]} */
      const item = [match[4]];
      index++;
      while (index < lines.length) {
        const next = lines[index];
        if (isBlank(next)) {
          // A blank line goes on the item when an indented line follows it.
          const following = lines.slice(index + 1).find((candidate) => !isBlank(candidate));
          if (following !== undefined && (/^ */.exec(following)?.[0].length ?? 0) >= contentIndent) {
            item.push('');
            loose = loose || !LIST_ITEM.test(following);
            index++;
            continue;
          }
          break;
        }
        const indent = /** @type {string} */ (/^ */.exec(next)?.[0]).length;
        if (indent >= contentIndent) {
          item.push(next.slice(contentIndent));
        } else if (indent > baseIndent && !LIST_ITEM.test(next)) {
          item.push(next.trim()); // a lazy continuation line
        } else if (!startsBlock(next) && !LIST_ITEM.test(next)) {
          item.push(next.trim());
        } else {
          break;
        }
        index++;
      }
      items.push(item);
      // A blank line between items makes the list loose.
      if (index < lines.length && isBlank(lines[index])) {
        const following = lines.slice(index).find((candidate) => !isBlank(candidate));
        const nextMatch = following === undefined ? null : LIST_ITEM.exec(following);
        if (nextMatch && nextMatch[1].length === baseIndent && /\d/.test(nextMatch[2]) === ordered) {
          loose = true;
          index = lines.indexOf(/** @type {string} */ (following), index);
        }
      }
    }
    for (const item of items) {
      const element = document.createElement('li');
      const holder = document.createElement('div');
      this.blocks(item, holder);
      // A tight item holds its paragraph's text directly.
      for (const child of Array.from(holder.childNodes)) {
        if (!loose && child instanceof HTMLParagraphElement) {
          element.append(...Array.from(child.childNodes));
        } else {
          element.appendChild(child);
        }
      }
      list.appendChild(element);
    }
    parent.appendChild(list);
    return index;
  }

  /**
   * @param {string[]} lines
   * @param {number} start
   * @param {Node} parent
   * @returns {number} the line after the table
   */
  table(lines, start, parent) {
    const alignments = tableCells(lines[start + 1]).map((cell) =>
      cell.startsWith(':') && cell.endsWith(':')
        ? 'center'
        : cell.endsWith(':')
          ? 'right'
          : cell.startsWith(':')
            ? 'left'
            : '',
    );
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    tableCells(lines[start]).forEach((text, column) => {
      const cell = document.createElement('th');
      this.inline(text, cell);
      if (alignments[column]) {
        cell.style.textAlign = alignments[column];
      }
      head.appendChild(cell);
    });
    const body = table.createTBody();
    let index = start + 2;
    while (index < lines.length && !isBlank(lines[index]) && lines[index].includes('|')) {
      const row = body.insertRow();
      tableCells(lines[index]).forEach((text, column) => {
        const cell = row.insertCell();
        this.inline(text, cell);
        if (alignments[column]) {
          cell.style.textAlign = alignments[column];
        }
      });
      index++;
    }
    parent.appendChild(table);
    return index;
  }

  /**
   * Inline Markdown: code spans, images, links, autolinks, strong and emphasis, backslash
   * escapes and hard line breaks (two spaces or a backslash before the newline).
   * @param {string} text
   * @param {Node} parent
   */
  inline(text, parent) {
    let plain = '';
    const flush = () => {
      if (plain) {
        parent.appendChild(document.createTextNode(plain));
        plain = '';
      }
    };
    let index = 0;
    while (index < text.length) {
      const char = text[index];
      const rest = text.slice(index);
      if (char === '\\' && index + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[index + 1])) {
        plain += text[index + 1];
        index += 2;
        continue;
      }
      if (char === '\n') {
        const hard = plain.endsWith('  ') || plain.endsWith('\\');
        plain = hard ? plain.replace(/(?: +|\\)$/, '') : plain.replace(/ +$/, '');
        flush();
        parent.appendChild(hard ? document.createElement('br') : document.createTextNode('\n'));
        index++;
        continue;
      }
      if (char === '`') {
        const ticks = /^`+/.exec(rest)?.[0] ?? '`';
        const end = text.indexOf(ticks, index + ticks.length);
        if (end > 0) {
          flush();
          const code = document.createElement('code');
          let content = text.slice(index + ticks.length, end).replace(/\n/g, ' ');
          if (/^ .* $/.test(content) && content.trim() !== '') {
            content = content.slice(1, -1);
          }
          code.textContent = content;
          parent.appendChild(code);
          index = end + ticks.length;
          continue;
        }
      }
      const link = char === '!' || char === '[' ? this.linkAt(text, index) : null;
      if (link) {
        flush();
        parent.appendChild(link.node);
        index = link.end;
        continue;
      }
      if (char === '<') {
        const autolink = /^<(https?:\/\/[^\s<>]+)>/.exec(rest);
        if (autolink) {
          flush();
          parent.appendChild(this.anchor(autolink[1], (a) => a.append(autolink[1])));
          index += autolink[0].length;
          continue;
        }
        const comment = /^<!--[\s\S]*?-->/.exec(rest);
        if (comment) {
          index += comment[0].length;
          continue;
        }
      }
      if (char === '*' || char === '_') {
        const emphasis = this.emphasisAt(text, index);
        if (emphasis) {
          flush();
          parent.appendChild(emphasis.node);
          index = emphasis.end;
          continue;
        }
      }
      plain += char;
      index++;
    }
    flush();
  }

  /**
   * `**strong**`, `*em*`, `_em_` (not inside words, as snake_case names are common) at `start`.
   * @param {string} text
   * @param {number} start
   * @returns {{node: Node, end: number} | null}
   */
  emphasisAt(text, start) {
    const char = text[start];
    const strong = text[start + 1] === char;
    const marker = strong ? char + char : char;
    const before = start > 0 ? text[start - 1] : ' ';
    if (char === '_' && /[\p{L}\p{N}]/u.test(before)) {
      return null;
    }
    const open = start + marker.length;
    if (open >= text.length || /\s/.test(text[open])) {
      return null;
    }
    let search = open;
    while (search < text.length) {
      const end = text.indexOf(marker, search);
      if (end < 0) {
        return null;
      }
      const after = text[end + marker.length] ?? ' ';
      const single = strong || text[end + 1] !== char;
      const closes =
        end > open && !/\s/.test(text[end - 1]) && single && !(char === '_' && /[\p{L}\p{N}]/u.test(after));
      if (closes) {
        const element = document.createElement(strong ? 'strong' : 'em');
        this.inline(text.slice(open, end), element);
        return { node: element, end: end + marker.length };
      }
      search = end + marker.length;
    }
    return null;
  }

  /**
   * `[text](target "title")` or `![alt](source)` at `start`, with brackets nested in the text.
   * @param {string} text
   * @param {number} start
   * @returns {{node: Node, end: number} | null}
   */
  linkAt(text, start) {
    const image = text[start] === '!';
    const open = image ? start + 1 : start;
    if (text[open] !== '[') {
      return null;
    }
    let depth = 0;
    let close = -1;
    for (let index = open; index < text.length; index++) {
      if (text[index] === '\\') {
        index++;
      } else if (text[index] === '[') {
        depth++;
      } else if (text[index] === ']' && --depth === 0) {
        close = index;
        break;
      }
    }
    if (close < 0 || text[close + 1] !== '(') {
      return null;
    }
    const destination = /^\(\s*<?([^\s<>()]*)>?(?:\s+"([^"]*)")?\s*\)/.exec(text.slice(close + 1));
    if (!destination) {
      return null;
    }
    const label = text.slice(open + 1, close);
    const target = destination[1];
    const end = close + 1 + destination[0].length;
    if (image) {
      const source = this.resolve(target, 'image');
      if (source === null) {
        return { node: document.createTextNode(label), end };
      }
      const element = document.createElement('img');
      element.src = source;
      element.alt = label;
      element.loading = 'lazy';
      if (destination[2]) {
        element.title = destination[2];
      }
      return { node: element, end };
    }
    const node = this.anchor(target, (a) => this.inline(label, a));
    if (destination[2] && node instanceof HTMLAnchorElement) {
      node.title = destination[2];
    }
    return { node, end };
  }

  /**
   * A link to `target` as the caller resolves it, or its content alone when it resolves to
   * nothing.
   * @param {string} target
   * @param {(parent: HTMLElement) => void} fill
   * @returns {HTMLElement}
   */
  anchor(target, fill) {
    const href = this.resolve(target, 'link');
    if (href === null) {
      const span = document.createElement('span');
      span.className = 'unlinked';
      span.title = target;
      fill(span);
      return span;
    }
    const a = document.createElement('a');
    a.href = href;
    if (/^https?:/.test(href)) {
      a.rel = 'noopener noreferrer';
    }
    fill(a);
    return a;
  }
}

/**
 * Renders Markdown as a document fragment.
 * @param {string} markdown
 * @param {Resolve} resolve where links and images point (null: leave the text unlinked)
 * @param {string} [anchorPrefix] put before each heading's anchor in its id, so that headings
 *     cannot take the ids of the page around them
 * @returns {DocumentFragment}
 */
export function renderMarkdown(markdown, resolve, anchorPrefix = '') {
  const fragment = document.createDocumentFragment();
  new Renderer(resolve, anchorPrefix).blocks(markdown.replace(/\r\n?/g, '\n').split('\n'), fragment);
  return fragment;
}
