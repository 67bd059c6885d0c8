// @ts-check
// The charts of the UI as inline SVG, drawn here rather than by a library: a horizontal bar
// chart (composition by taxon), a histogram (size distribution) and a heat map (confusion
// matrix). Each is a <figure> whose SVG has a <title> and whose bars carry their values as
// tooltips; the pages show the same numbers in a table beside the chart.

import { formatNumber, h, svg } from './dom.js';

const FONT_PX = 12;
// Rough width of one character of the UI font at FONT_PX, to leave room for labels.
const CHAR_PX = 7;

let chartIds = 0;

/**
 * A <figure> with an accessible SVG: role=img, named by its <title>.
 * @param {string} title
 * @param {number} width
 * @param {number} height
 * @param {SVGElement[]} content
 * @param {string} [caption]
 * @returns {HTMLElement}
 */
function figure(title, width, height, content, caption) {
  const id = `chart-title-${++chartIds}`;
  const picture = svg(
    'svg',
    {
      class: 'chart',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-labelledby': id,
    },
    svg('title', { id }, title),
    content,
  );
  return h('figure', { class: 'chart-figure' }, picture, caption ? h('figcaption', {}, caption) : null);
}

/**
 * "Nice" axis ticks from 0 to at least `max`: 0, 2000, 4000, ...
 * @param {number} max
 * @param {number} [count] about how many
 * @returns {number[]}
 */
export function niceTicks(max, count = 4) {
  if (!(max > 0)) {
    return [0, 1];
  }
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((s) => s >= rough) ?? rough;
  const ticks = [];
  for (let tick = 0; tick < max + step * 0.999; tick += step) {
    ticks.push(tick);
  }
  return ticks;
}

/**
 * @typedef {{label: string, value: number | null, kind?: string, detail?: string}} Bar
 */

/**
 * Horizontal bars, one per item, labels on the left: the composition of a sample by taxon.
 * Items with an unknown (null) value are drawn as "–".
 * @param {{title: string, items: Bar[], unit: string, width?: number, caption?: string}} options
 * @returns {HTMLElement}
 */
export function barChart({ title, items, unit, width = 900, caption }) {
  const barHeight = 22;
  const gap = 6;
  const labelWidth = Math.min(260, Math.max(80, ...items.map((item) => item.label.length * CHAR_PX + 12)));
  const valueWidth = 90;
  const top = 8;
  const axisHeight = 26;
  const plotWidth = width - labelWidth - valueWidth;
  const height = top + items.length * (barHeight + gap) + axisHeight;
  const max = Math.max(0, ...items.map((item) => item.value ?? 0));
  const ticks = niceTicks(max);
  const scale = plotWidth / ticks[ticks.length - 1];

  /** @type {SVGElement[]} */
  const content = [];
  const axisY = top + items.length * (barHeight + gap);
  for (const tick of ticks) {
    const x = labelWidth + tick * scale;
    content.push(
      svg('line', { class: 'grid', x1: x, x2: x, y1: top - 4, y2: axisY }),
      svg('text', { class: 'tick', x, y: axisY + 16, 'text-anchor': 'middle' }, formatNumber(tick, 3)),
    );
  }
  items.forEach((item, index) => {
    const y = top + index * (barHeight + gap);
    const value = item.value ?? 0;
    const barWidth = Math.max(value * scale, value > 0 ? 1 : 0);
    const tooltip = `${item.label}: ${formatNumber(item.value)} ${unit}${item.detail ? ` (${item.detail})` : ''}`;
    content.push(
      svg(
        'g',
        { class: `bar ${item.kind ?? ''}`.trim() },
        svg('title', {}, tooltip),
        svg(
          'text',
          { class: 'label', x: labelWidth - 8, y: y + barHeight / 2 + FONT_PX / 3, 'text-anchor': 'end' },
          item.label,
        ),
        svg('rect', { x: labelWidth, y, width: barWidth, height: barHeight, rx: 2 }),
        svg(
          'text',
          { class: 'value', x: labelWidth + barWidth + 6, y: y + barHeight / 2 + FONT_PX / 3 },
          formatNumber(item.value, 3),
        ),
      ),
    );
  });
  content.push(svg('line', { class: 'axis', x1: labelWidth, x2: labelWidth, y1: top - 4, y2: axisY }));
  return figure(title, width, height, content, caption ?? `${title} (${unit})`);
}

/**
 * Vertical bars over consecutive classes: the size distribution of a sample.
 * @param {{title: string, bins: Bar[], unit: string, xLabel: string, width?: number,
 *          caption?: string}} options
 * @returns {HTMLElement}
 */
export function histogram({ title, bins, unit, xLabel, width = 900, caption }) {
  const height = 260;
  const left = 64;
  const right = 12;
  const top = 12;
  const bottom = 58;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const max = Math.max(0, ...bins.map((bin) => bin.value ?? 0));
  const ticks = niceTicks(max);
  const scale = plotHeight / ticks[ticks.length - 1];
  const step = plotWidth / Math.max(bins.length, 1);

  /** @type {SVGElement[]} */
  const content = [];
  for (const tick of ticks) {
    const y = top + plotHeight - tick * scale;
    content.push(
      svg('line', { class: 'grid', x1: left, x2: left + plotWidth, y1: y, y2: y }),
      svg(
        'text',
        { class: 'tick', x: left - 6, y: y + FONT_PX / 3, 'text-anchor': 'end' },
        formatNumber(tick, 3),
      ),
    );
  }
  bins.forEach((bin, index) => {
    const value = bin.value ?? 0;
    const barHeight = value * scale;
    const x = left + index * step;
    content.push(
      svg(
        'g',
        { class: 'bar' },
        svg('title', {}, `${bin.label} ${xLabel}: ${formatNumber(bin.value)} ${unit}`),
        svg('rect', {
          x: x + 2,
          y: top + plotHeight - barHeight,
          width: Math.max(step - 4, 1),
          height: barHeight,
        }),
        svg(
          'text',
          {
            class: 'tick',
            x: x + step / 2,
            y: top + plotHeight + 14,
            'text-anchor': 'middle',
          },
          bin.label,
        ),
      ),
    );
  });
  content.push(
    svg('line', {
      class: 'axis',
      x1: left,
      x2: left + plotWidth,
      y1: top + plotHeight,
      y2: top + plotHeight,
    }),
    svg(
      'text',
      { class: 'axis-label', x: left + plotWidth / 2, y: height - 12, 'text-anchor': 'middle' },
      xLabel,
    ),
    svg(
      'text',
      {
        class: 'axis-label',
        x: 14,
        y: top + plotHeight / 2,
        'text-anchor': 'middle',
        transform: `rotate(-90 14 ${top + plotHeight / 2})`,
      },
      unit,
    ),
  );
  return figure(title, width, height, content, caption);
}

/**
 * A colour from white to the theme's dark teal for a share in [0, 1].
 * @param {number} share
 * @returns {string}
 */
function heat(share) {
  const clamped = Math.min(Math.max(share, 0), 1);
  // #ffffff → #0b5f66, linearly in RGB.
  const mix = (/** @type {number} */ from, /** @type {number} */ to) =>
    Math.round(from + (to - from) * clamped);
  return `rgb(${mix(255, 11)}, ${mix(255, 95)}, ${mix(255, 102)})`;
}

/**
 * A confusion matrix: counts[true][predicted], each cell coloured by its share of the true
 * class's row (its recall on the diagonal) and labelled with its count.
 * @param {{title: string, labels: string[], counts: number[][], caption?: string}} options
 * @returns {HTMLElement}
 */
export function heatMap({ title, labels, counts, caption }) {
  const cell = Math.max(26, Math.min(44, Math.floor(560 / Math.max(labels.length, 1))));
  const labelWidth = Math.min(220, Math.max(60, ...labels.map((label) => label.length * CHAR_PX + 12)));
  const left = labelWidth + 24;
  const top = labelWidth + 24;
  const size = labels.length * cell;
  const width = left + size + 12;
  const height = top + size + 12;

  /** @type {SVGElement[]} */
  const content = [
    svg(
      'text',
      { class: 'axis-label', x: left + size / 2, y: 12, 'text-anchor': 'middle' },
      'predicted class',
    ),
    svg(
      'text',
      {
        class: 'axis-label',
        x: 12,
        y: top + size / 2,
        'text-anchor': 'middle',
        transform: `rotate(-90 12 ${top + size / 2})`,
      },
      'true class',
    ),
  ];
  labels.forEach((label, index) => {
    const middle = index * cell + cell / 2;
    content.push(
      svg(
        'text',
        { class: 'label', x: left - 6, y: top + middle + FONT_PX / 3, 'text-anchor': 'end' },
        label,
      ),
      svg(
        'text',
        {
          class: 'label',
          x: left + middle + FONT_PX / 3,
          y: top - 6,
          'text-anchor': 'start',
          transform: `rotate(-90 ${left + middle + FONT_PX / 3} ${top - 6})`,
        },
        label,
      ),
    );
  });
  counts.forEach((row, truth) => {
    const rowTotal = row.reduce((sum, count) => sum + count, 0);
    row.forEach((count, predicted) => {
      const share = rowTotal > 0 ? count / rowTotal : 0;
      const x = left + predicted * cell;
      const y = top + truth * cell;
      content.push(
        svg(
          'g',
          { class: `cell${truth === predicted ? ' diagonal' : ''}` },
          svg(
            'title',
            {},
            `true ${labels[truth]}, predicted ${labels[predicted]}: ${count} of ${rowTotal} (${(share * 100).toFixed(1)} %)`,
          ),
          svg('rect', { x, y, width: cell, height: cell, fill: heat(share) }),
          count > 0
            ? svg(
                'text',
                {
                  x: x + cell / 2,
                  y: y + cell / 2 + FONT_PX / 3,
                  'text-anchor': 'middle',
                  class: share > 0.5 ? 'count dark' : 'count',
                },
                String(count),
              )
            : null,
        ),
      );
    });
  });
  content.push(svg('rect', { class: 'frame', x: left, y: top, width: size, height: size }));
  return figure(title, width, height, content, caption);
}
