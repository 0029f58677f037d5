/** Work in flight, by key (a destination file or folder): callers that need the same download share one. */
const inFlight = new Map<string, Promise<unknown>>();

export function onceInFlight<T>(key: string, run: () => Promise<T>): Promise<T> {
  let p = inFlight.get(key) as Promise<T> | undefined;
  if (!p) {
    p = run().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}
