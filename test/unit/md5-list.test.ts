import { createHash } from 'node:crypto';
import { parseMd5List } from '../../src/sources/nbia/md5-list.js';

/** Some bytes whose MD5 starts with a zero digit, as about one file in sixteen has. */
function leadingZeroFile(): { data: Buffer; md5: string } {
  for (let i = 0; ; i += 1) {
    const data = Buffer.from(`file ${i}`);
    const md5 = createHash('md5').update(data).digest('hex');
    if (md5.startsWith('00')) return { data, md5 };
  }
}

describe('md5hashes.csv', () => {
  it('a digest stored without its leading zeros is read as the 32-digit MD5 it stands for', async () => {
    const { md5 } = leadingZeroFile();
    const short = md5.replace(/^0+/, '');
    expect(short.length).toBeLessThan(31);
    const list = await parseMd5List(`Filename,MD5Hash\n00000001.dcm,${short.toUpperCase()}\n00000002.dcm,${md5}\n`);
    expect(list.get('00000001.dcm')).toBe(md5);
    expect(list.get('00000002.dcm')).toBe(md5);
  });

  it('anything that is not a hex digest is kept as it is, so it can only fail to match', async () => {
    const list = await parseMd5List('Filename,MD5Hash\na.dcm,not-a-hash\nb.dcm,123456789012345678901234567890123\n');
    expect(list.get('a.dcm')).toBe('not-a-hash');
    expect(list.get('b.dcm')).toBe('123456789012345678901234567890123');
  });

  it("a file listed with a blank hash (CTP's single space) is kept, with '' for the checksum TCIA does not publish", async () => {
    const list = await parseMd5List(`Filename,MD5Hash\n00000002.dcm,${'f'.repeat(32)}\n00000001.dcm, \n`);
    expect([...list]).toEqual([['00000002.dcm', 'f'.repeat(32)], ['00000001.dcm', '']]);
  });
});
