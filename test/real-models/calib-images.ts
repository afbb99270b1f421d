import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/**
 * Deterministic calibration images for the real-model manifest, drawn as SVG and rendered by sharp (librsvg), so that
 * a few dozen images are generated at test time instead of committed:
 * - `scene`: coloured shapes on a gradient (for ImageNet-style classifiers, which take RGB);
 * - `text-page`: several lines of words at different sizes on a light background (for a text detector);
 * - `text-line`: one line of words filling the height (for a text recognizer);
 * - `text-line-turned`: the same, every other image turned by 180° (a text-direction classifier's two classes).
 * Text needs a font fontconfig can find (DejaVu: Debian's fonts-dejavu-core); an image that renders without ink fails.
 */
export type CalibKind = 'scene' | 'text-page' | 'text-line' | 'text-line-turned';

export interface CalibSpec {
  kind: CalibKind;
  width: number;
  height: number;
  count: number;
}

/** Writes spec.count PNGs (000.png, ...) into dir, replacing what was there; the same spec gives the same files. */
export async function writeCalibImages(dir: string, spec: CalibSpec): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < spec.count; i++) {
    const random = mulberry32(1_000_003 * (i + 1) + spec.width * 7 + spec.height);
    const svg = DRAW[spec.kind](random, spec.width, spec.height, i);
    const png = sharp(Buffer.from(svg)).flatten({ background: '#ffffff' });
    const turned = spec.kind === 'text-line-turned' && i % 2 === 1 ? png.rotate(180) : png;
    const file = join(dir, `${String(i).padStart(3, '0')}.png`);
    await turned.png().toFile(file);
    await expectInk(file, spec.kind);
  }
  return dir;
}

/** The number of files writeCalibImages left in dir (for a cache check). */
export function countImages(dir: string): number {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.png')).length;
  } catch {
    return 0;
  }
}

type Random = () => number;

const DRAW: Record<CalibKind, (random: Random, width: number, height: number, index: number) => string> = {
  scene: drawScene,
  'text-page': drawPage,
  'text-line': drawLine,
  'text-line-turned': drawLine,
};

const WORDS = (
  'the quick brown fox jumps over lazy dog invoice total amount date 2024 page of street city order number price ' +
  'name address phone email receipt tax subtotal item quantity 42 17.50 ONNX model compress feature transform ' +
  'module layer channel OCR text line word Hello World STOP EXIT open closed Monday March 12:30 #A-17 99% ' +
  'ABCDEFG 0123456789 station platform ticket north south east west coffee bread milk 3.14 km/h'
).split(' ');

const FONTS = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono', 'DejaVu Sans Condensed'];

function drawScene(random: Random, width: number, height: number): string {
  const shapes: string[] = [];
  for (let k = 0, n = 3 + Math.floor(random() * 5); k < n; k++) {
    const x = random() * width, y = random() * height, r = (0.1 + 0.35 * random()) * Math.min(width, height);
    const fill = colour(random), opacity = (0.5 + 0.5 * random()).toFixed(2);
    if (random() < 0.5) shapes.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r.toFixed(1)}" fill="${fill}" fill-opacity="${opacity}"/>`);
    else {
      const angle = Math.floor(random() * 90);
      shapes.push(`<rect x="${(x - r).toFixed(1)}" y="${(y - r / 2).toFixed(1)}" width="${(2 * r).toFixed(1)}" height="${r.toFixed(1)}" fill="${fill}" fill-opacity="${opacity}" transform="rotate(${angle} ${x.toFixed(1)} ${y.toFixed(1)})"/>`);
    }
  }
  return svgDocument(width, height, `<defs><linearGradient id="g" x1="0" y1="0" x2="${random().toFixed(2)}" y2="1"><stop offset="0" stop-color="${colour(random)}"/><stop offset="1" stop-color="${colour(random)}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${shapes.join('')}`);
}

function drawPage(random: Random, width: number, height: number): string {
  const lines: string[] = [];
  for (let y = 4 + random() * height * 0.1; ; ) {
    const size = Math.round(height * (0.04 + 0.08 * random()));
    y += size * 1.3;
    if (y > height - 2) break;
    const x = random() * width * 0.3;
    lines.push(textElement(random, x, y, size, words(random, 1 + Math.floor(random() * 5))));
    y += random() * size;
  }
  return svgDocument(width, height, `<rect width="100%" height="100%" fill="${paper(random)}"/>${lines.join('')}`);
}

function drawLine(random: Random, width: number, height: number): string {
  const size = Math.round(height * (0.55 + 0.25 * random()));
  const y = (height + size * 0.7) / 2 + (random() - 0.5) * height * 0.1;
  const text = textElement(random, 2 + random() * width * 0.08, y, size, words(random, 1 + Math.floor(random() * 3)), width * 0.95);
  return svgDocument(width, height, `<rect width="100%" height="100%" fill="${paper(random)}"/>${text}`);
}

function textElement(random: Random, x: number, y: number, size: number, text: string, maxWidth?: number): string {
  const font = FONTS[Math.floor(random() * FONTS.length)];
  const ink = `rgb(${[0, 0, 0].map(() => Math.floor(random() * 90)).join(',')})`;
  const weight = random() < 0.3 ? 'bold' : 'normal';
  // Long lines are squeezed to the image width rather than cut, as a recognizer's crops are.
  const fit = maxWidth && text.length * size * 0.68 > maxWidth ? ` textLength="${maxWidth.toFixed(0)}" lengthAdjust="spacingAndGlyphs"` : '';
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${font}" font-size="${size}" font-weight="${weight}" fill="${ink}"${fit}>${escapeXml(text)}</text>`;
}

function words(random: Random, n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
}

function svgDocument(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`;
}

function colour(random: Random): string {
  return `rgb(${[0, 0, 0].map(() => Math.floor(random() * 256)).join(',')})`;
}

/** A light background: white to yellowish or grey paper. */
function paper(random: Random): string {
  return `rgb(${[0, 0, 0].map(() => 200 + Math.floor(random() * 56)).join(',')})`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A text image whose pixels barely vary was drawn without a font: fail here rather than calibrate on blank paper. */
async function expectInk(file: string, kind: CalibKind): Promise<void> {
  if (kind === 'scene') return;
  const { channels } = await sharp(file).stats();
  if (Math.max(...channels.map((c) => c.stdev)) < 8) {
    throw new Error(`${file}: the text rendered without ink; is a font installed (Debian fonts-dejavu-core)?`);
  }
}

/** A small seeded PRNG (Mulberry32): the same seed gives the same images on every machine. */
function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
