"""Packs a locally built librdkafka.so as a librdkafka.redist nupkg (linux-x64 only).

Usage: pack-librdkafka.py <librdkafka.so> <version> <out.nupkg>
"""
import sys
import zipfile

so_path, version, out = sys.argv[1:4]

nuspec = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>librdkafka.redist</id>
    <version>{version}</version>
    <authors>librdkafka (built locally by tools/setup.sh)</authors>
    <license type="expression">BSD-2-Clause</license>
    <description>librdkafka {version} for linux-x64, built from the sources shipped in @confluentinc/kafka-javascript because this NuGet source does not serve librdkafka.redist.</description>
  </metadata>
</package>
"""

content_types = """<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="nuspec" ContentType="application/octet" />
  <Default Extension="so" ContentType="application/octet" />
</Types>
"""

with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("librdkafka.redist.nuspec", nuspec)
    z.writestr("[Content_Types].xml", content_types)
    z.write(so_path, "runtimes/linux-x64/native/librdkafka.so")
