/** XNAT's errors are Restlet "Status page" HTML with the message in <h3> (docs/reference/xnat-rest.md#conventions). */
export function xnatErrorMessage(body: string | undefined): string {
  const text = body ?? '';
  const h3 = /<h3>([\s\S]*?)<\/h3>/i.exec(text);
  const raw = h3 ? h3[1]! : /<html/i.test(text) ? '' : text;
  return decodeEntities(raw.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim().slice(0, 300);
}

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}
