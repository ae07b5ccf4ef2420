// Reading a Prometheus text exposition in tests.

export interface Series {
  labels: Record<string, string>;
  value: number;
}

/** Every series of the metric `name`. */
export function seriesOf(text: string, name: string): Series[] {
  const found: Series[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
    found.push({ labels, value: Number(match[3]) });
  }
  return found;
}

/** The value of the first series of `name` carrying these labels (and maybe others), or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return seriesOf(text, name).find((series) => Object.entries(labels).every(([key, value]) => series.labels[key] === value))?.value;
}
