// Hostile values for the input tests: objects whose reads throw, revoked Proxies, cycles.

/** A function that throws an Error with this message. */
export const throwing = (what: string) => (): never => {
  throw new Error(what);
};

/** A Proxy whose reads, prototype and keys all throw. */
export const hostileProxy = (): object =>
  new Proxy(
    {},
    { get: throwing('get trap'), getPrototypeOf: throwing('prototype trap'), ownKeys: throwing('ownKeys trap') },
  );

export const revoked = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
};

/** [1, itself]: String() gives '1,'. */
export const cyclicArray = (): unknown[] => {
  const a: unknown[] = [1];
  a.push(a);
  return a;
};

export const cyclicObject = (): object => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
};
