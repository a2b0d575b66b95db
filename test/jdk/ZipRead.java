import java.io.BufferedInputStream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Reads a zip from stdin with java.util.zip.ZipInputStream, entry by entry, as XNAT's DICOM-zip importer reads an
 * upload, and prints one line per entry: name, method, bytes read, and a CRC-32 of every byte read (computed here,
 * apart from the check ZipInputStream itself makes against the entry's header or data descriptor).
 * Exits non-zero with the exception's message when the stream refuses the zip.
 */
public class ZipRead {
    public static void main(String[] args) throws Exception {
        try (ZipInputStream zip = new ZipInputStream(new BufferedInputStream(System.in, 1 << 16))) {
            byte[] buffer = new byte[1 << 16];
            for (ZipEntry entry = zip.getNextEntry(); entry != null; entry = zip.getNextEntry()) {
                CRC32 crc = new CRC32();
                long total = 0;
                for (int n = zip.read(buffer); n > 0; n = zip.read(buffer)) {
                    crc.update(buffer, 0, n);
                    total += n;
                }
                System.out.println(entry.getName() + "\t" + entry.getMethod() + "\t" + total + "\t" + Long.toHexString(crc.getValue()));
            }
        } catch (java.io.IOException e) {
            System.err.println("ZipInputStream: " + e.getMessage());
            System.exit(3);
        }
    }
}
