// Promise.withResolvers arrived in Node 22; aws-local-stepfunctions 3 calls it
// and this machine runs Node 20. Load with: node --import ./polyfill.mjs ...
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers() {
      let resolve;
      let reject;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
