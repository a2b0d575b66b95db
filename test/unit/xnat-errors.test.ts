import { xnatErrorMessage } from '../../src/xnat/html-error.js';
import { SessionCookieJar } from '../../src/xnat/cookie-jar.js';

describe('xnatErrorMessage', () => {
  it('takes the <h3> of a Restlet status page', () => {
    const page = '<html><head><title>Status page</title></head><body><h3>Already assigned to project:pr000r00</h3><p>You can get technical details <a href="x">here</a>.</p></body></html>';
    expect(xnatErrorMessage(page)).toBe('Already assigned to project:pr000r00');
  });
  it('decodes entities and keeps plain-text bodies', () => {
    expect(xnatErrorMessage('<h3>Invalid modification of session &quot;E1&quot; &amp; more</h3>')).toBe('Invalid modification of session "E1" & more');
    expect(xnatErrorMessage('FAILED: Session already exists with matching files.')).toBe('FAILED: Session already exists with matching files.');
    expect(xnatErrorMessage('<html><body>no heading</body></html>')).toBe('');
  });
});

describe('SessionCookieJar', () => {
  it('keeps JSESSIONID and forgets a cookie that is cleared', async () => {
    const jar = new SessionCookieJar();
    await jar.setCookie('JSESSIONID=ABC123; Path=/; HttpOnly', 'http://x');
    await jar.setCookie('SESSION_EXPIRATION_TIME="1,900000"; Path=/', 'http://x');
    expect(jar.hasSession).toBe(true);
    expect(await jar.getCookieString('http://x')).toBe('JSESSIONID=ABC123; SESSION_EXPIRATION_TIME="1,900000"');
    await jar.setCookie('JSESSIONID=; Max-Age=0', 'http://x');
    expect(jar.hasSession).toBe(false);
  });
});
