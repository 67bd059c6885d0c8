#!/usr/bin/env python3
"""Writes the small malformed and hostile zips that the reader and server tests refuse.

    tests/data/zips/make_zips.py      # rewrites the *.zip files beside this script

Each file is deterministic (fixed timestamps), so running the script again changes nothing.
What each one holds, and what must happen to it, is in README.md.
"""
import os
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
DATE = (2025, 4, 11, 12, 0, 0)


def path(name):
    return os.path.join(HERE, name)


def write(name, entries, **kwargs):
    """entries: (ZipInfo or name, bytes) pairs."""
    with zipfile.ZipFile(path(name), "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=9, **kwargs) as archive:
        for info, data in entries:
            if isinstance(info, str):
                info = zipfile.ZipInfo(info, DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o100644 << 16
                info.create_system = 3  # Unix, so that the mode bits above count
            archive.writestr(info, data)


def main():
    # A good archive: two files, one in a folder.
    write("good.zip", [("run/a.txt", b"alpha\n"), ("run/b.txt", b"bravo bravo\n")])

    write("traversal.zip", [("../evil.txt", b"outside\n")])
    write("absolute.zip", [("/tmp/evil.txt", b"outside\n")])

    link = zipfile.ZipInfo("run/link", DATE)
    link.create_system = 3
    link.external_attr = 0o120777 << 16  # S_IFLNK: a symbolic link to /etc/passwd
    write("symlink.zip", [("run/a.txt", b"alpha\n"), (link, b"/etc/passwd")])

    with_duplicate = [("run/a.txt", b"first\n"), ("run/a.txt", b"second\n")]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, as it should
        write("duplicate.zip", with_duplicate)

    # good.zip cut in the middle of its central directory: no end-of-central-directory record.
    with open(path("good.zip"), "rb") as good:
        data = good.read()
    with open(path("truncated.zip"), "wb") as out:
        out.write(data[: len(data) - 40])

    # 20 MiB of zeros deflate to about 20 KB: a 1028-fold expansion.
    write("bomb.zip", [("zeros.bin", bytes(20 << 20))])

    # A header that lies: 64 KiB of text declared as 1000 bytes, in both the local header and
    # the central directory, so only counting the bytes actually unpacked catches it.
    text = b"".join(b"line %05d of a long text\n" % number for number in range(2700))[: 64 << 10]
    write("lying.zip", [("run/big.txt", text)])
    with open(path("lying.zip"), "rb") as lying:
        data = bytearray(lying.read())
    real = struct.pack("<I", len(text))
    fake = struct.pack("<I", 1000)
    # Uncompressed size: offset 22 in the local header, 24 in the central directory entry.
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    assert data[local + 22 : local + 26] == real and data[central + 24 : central + 28] == real
    data[local + 22 : local + 26] = fake
    data[central + 24 : central + 28] = fake
    with open(path("lying.zip"), "wb") as out:
        out.write(data)

    write_huge_declared()

    # Names that cannot be unpacked as they are: the folder itself, a part longer than a file
    # name may be (255 bytes), a name over 1024 bytes, more than 32 folders deep.
    write("dot.zip", [("run/a.txt", b"alpha\n"), (".", b"x")])
    write("long_part.zip", [("run/" + "p" * 256 + ".txt", b"x")])
    write("long_name.zip", [("abcdefgh/" * 113 + "f.txt", b"x")])  # 9 * 113 + 5 = 1022 bytes
    write("long_name_over.zip", [("abcdefgh/" * 114 + "f.txt", b"x")])  # 1031 bytes
    write("deep.zip", [("d/" * 32 + "f.txt", b"x")])  # 33 parts
    write("deepest.zip", [("d/" * 31 + "f.txt", b"x")])  # 32 parts: accepted
    write_overflowing()


def zip64_stored(entries):
    """A zip of stored entries whose central directory declares other sizes (ZIP64 fields):
    entries are (name, content, declared size) triples."""
    dos_time, dos_date = 0x6000, 0x5A8B  # 12:00:00, 2025-04-11
    locals_, centrals = b"", b""
    for name, content, declared in entries:
        crc = zlib.crc32(content)
        offset = len(locals_)
        locals_ += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, dos_time, dos_date, crc,
                               len(content), len(content), len(name), 0) + name + content
        # ZIP64 extended information: uncompressed then compressed size (both 0xFFFFFFFF below).
        zip64 = struct.pack("<HHQQ", 0x0001, 16, declared, len(content))
        centrals += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 45, 45, 0, 0,
                                dos_time, dos_date, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name),
                                len(zip64), 0, 0, 0, 0o100644 << 16, offset) + name + zip64
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(centrals),
                      len(locals_), 0)
    return locals_ + centrals + end


def write_overflowing():
    """Two entries declaring 2^63 bytes each: their sum, 2^64, wraps to 0 in 64 bits."""
    data = zip64_stored([(b"run/a.bin", b"a\n", 1 << 63), (b"run/b.bin", b"b\n", 1 << 63)])
    with open(path("overflow.zip"), "wb") as out:
        out.write(data)


def write_huge_declared():
    """One small stored entry whose central directory declares 20 GB (a ZIP64 extra field):
    refused from the directory alone, without reading any data."""
    name = b"run/huge.bin"
    content = b"tiny\n"
    crc = zlib.crc32(content)
    dos_time, dos_date = 0x6000, 0x5A8B  # 12:00:00, 2025-04-11
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, dos_time, dos_date, crc,
                        len(content), len(content), len(name), 0) + name + content
    declared = 20_000_000_000
    # ZIP64 extended information: uncompressed then compressed size (both 0xFFFFFFFF above).
    zip64 = struct.pack("<HHQQ", 0x0001, 16, declared, len(content))
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 45, 45, 0, 0, dos_time,
                          dos_date, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(zip64), 0, 0, 0,
                          0o100644 << 16, 0) + name + zip64
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
    with open(path("huge_declared.zip"), "wb") as out:
        out.write(local + central + end)


if __name__ == "__main__":
    main()
