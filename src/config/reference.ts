import { z } from 'zod';
import { ConfigSchema } from './schema.ts';

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

type Def = {
  type: string;
  innerType?: z.core.$ZodType;
  defaultValue?: unknown;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  options?: z.core.$ZodType[];
  discriminator?: string;
  entries?: Record<string, string>;
  values?: unknown[];
  format?: string;
};
const defOf = (s: z.core.$ZodType) => s._zod.def as unknown as Def;

/** A field with its wrappers (default, optional, preprocess) peeled off, keeping what they said. */
interface Field {
  schema: z.core.$ZodType;
  def: Def;
  description?: string;
  defaultValue?: unknown;
  hasDefault: boolean;
  optional: boolean;
}

function unwrap(schema: z.core.$ZodType): Field {
  let s = schema;
  const field: Omit<Field, 'schema' | 'def'> = { hasDefault: false, optional: false };
  for (;;) {
    field.description ??= z.globalRegistry.get(s)?.description;
    const def = defOf(s);
    if ((def.type === 'default' || def.type === 'prefault') && !field.hasDefault) {
      field.hasDefault = true;
      field.defaultValue = def.defaultValue;
    }
    if (def.type === 'optional') field.optional = true;
    if (def.innerType) s = def.innerType;
    // Input-side view: a preprocess shows its target type, a transform its source.
    else if (def.type === 'pipe') s = defOf(def.in!).type === 'transform' ? def.out! : def.in!;
    else return { ...field, schema: s, def };
  }
}

function typeName(f: Field): string {
  const { def } = f;
  switch (def.type) {
    case 'string':
      return def.format === 'url' ? 'URL' : 'string';
    case 'number':
      return def.format?.includes('int') ? 'integer' : 'number';
    case 'enum':
      return Object.values(def.entries ?? {}).join(' | ');
    case 'literal':
      return (def.values ?? []).map(String).join(' | ');
    case 'array':
      return `list of ${typeName(unwrap(def.element!))}`;
    case 'union':
      return (def.options ?? []).map((o) => typeName(unwrap(o))).join(' | ');
    case 'record':
      return 'map of string';
    case 'object':
      return 'mapping';
    default:
      return def.type;
  }
}

function defaultText(f: Field): string {
  if (!f.hasDefault) return f.optional ? '' : '*required*';
  const value = f.defaultValue;
  if (typeof value === 'string') return value === '' ? '`""`' : `\`${value}\``;
  // An object default of {} only means "fill in my fields": their own rows show the values.
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
    return '';
  return `\`${JSON.stringify(value)}\``;
}

function walk(schema: z.core.$ZodType, path: string, rows: Row[], note = ''): void {
  const f = unwrap(schema);
  const describe = (d = f.description) => `${note}${d ?? ''}`.trim();
  const row = (type = typeName(f), description = describe()) =>
    rows.push({ path, type, default: defaultText(f), description });
  const { def } = f;
  if (def.discriminator !== undefined) {
    const tag = def.discriminator;
    const variants = (def.options ?? []).map((o) => ({ o, name: typeName(unwrap(defOf(o).shape![tag]!)) }));
    const chosen = (f.defaultValue as Record<string, unknown> | undefined)?.[tag];
    rows.push({
      path: `${path}.${tag}`,
      type: variants.map((v) => v.name).join(' | '),
      default: chosen === undefined ? '*required*' : `\`${String(chosen)}\``,
      description: describe(),
    });
    for (const { o, name } of variants)
      for (const [key, field] of Object.entries(defOf(o).shape ?? {}))
        if (key !== tag) walk(field, `${path}.${key}`, rows, `(${tag}: ${name}) `);
    return;
  }
  if (def.type === 'object') {
    if (path !== '' && f.description !== undefined) row();
    for (const [key, field] of Object.entries(def.shape ?? {}))
      walk(field, path === '' ? key : `${path}.${key}`, rows, note);
    return;
  }
  const element = def.type === 'array' ? unwrap(def.element!) : undefined;
  if (element?.def.type === 'object' || element?.def.discriminator !== undefined) {
    row('list', describe());
    walk(def.element!, `${path}[]`, rows, note);
    return;
  }
  row();
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The config reference as a Markdown table, generated from the schema so it never drifts from the code. */
export function renderConfigReference(): string {
  const rows: Row[] = [];
  walk(ConfigSchema, '', rows);
  const lines = [
    '| Path | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| \`${cell(r.path)}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
