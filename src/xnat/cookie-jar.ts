/** Holds XNAT's session cookie so that one login serves the whole run (the shape got's cookieJar option expects). */
export class SessionCookieJar {
  private readonly cookies = new Map<string, string>();

  async setCookie(raw: string, _url: string): Promise<void> {
    const pair = raw.split(';', 1)[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === '' || /max-age=0/i.test(raw)) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }

  async getCookieString(_url: string): Promise<string> {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get hasSession(): boolean {
    return this.cookies.has('JSESSIONID');
  }

  clear(): void {
    this.cookies.clear();
  }
}
