// proxy-from-env ships no type declarations; this covers the part of its API the project uses.
declare module 'proxy-from-env' {
  /** The proxy URL for a request to `url` from HTTP(S)_PROXY, ALL_PROXY and NO_PROXY, or '' to connect directly. */
  export function getProxyForUrl(url: string | URL): string;
}
