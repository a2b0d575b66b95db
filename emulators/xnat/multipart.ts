/** A buffered multipart/form-data parser (XNAT reads multipart uploads whole through commons-fileupload). */
import { HttpError } from './html.js';

export interface Part {
  name: string;
  filename?: string;
  contentType: string;
  data: Buffer;
}

export function parseMultipart(body: Buffer, contentType: string): Part[] {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw new HttpError(400, 'Multipart request without a boundary.');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new HttpError(400, 'Malformed multipart body.');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') throw new HttpError(400, 'Malformed multipart body.');
    pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) throw new HttpError(400, 'Malformed multipart body.');
    const headers = body.subarray(pos, headerEnd).toString('utf8').split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) throw new HttpError(400, 'Malformed multipart body: stream ended unexpectedly.');
    const data = body.subarray(headerEnd + 4, next);
    let name = '';
    let filename: string | undefined;
    let type = 'text/plain';
    for (const h of headers) {
      const [key, ...rest] = h.split(':');
      const value = rest.join(':').trim();
      if (key?.toLowerCase() === 'content-disposition') {
        name = /\bname="([^"]*)"/i.exec(value)?.[1] ?? '';
        filename = /\bfilename="([^"]*)"/i.exec(value)?.[1];
      } else if (key?.toLowerCase() === 'content-type') type = value;
    }
    parts.push({ name, filename, contentType: type, data: Buffer.from(data) });
    pos = next + 2;
  }
  return parts;
}
