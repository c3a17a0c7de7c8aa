using System.Reflection;
using System.Runtime.InteropServices;

namespace OrderFlow.EmbeddedKafka;

/// <summary>
/// The one place that decides which librdkafka file our own P/Invokes (the mock cluster) bind to: exactly the file
/// Confluent.Kafka loaded in this process. Confluent.Kafka knows the package layouts (the official librdkafka.redist
/// falls back from <c>runtimes/linux-x64/native/librdkafka.so</c>, which needs libsasl2.so.3, to
/// <c>centos8-librdkafka.so</c>; the self-built package has only the first); binding by name would pick the first
/// file whatever loads, and two copies of librdkafka in one process would not share a mock cluster.
/// </summary>
public static class NativeLibrdkafka
{
    public const string LibraryName = "librdkafka";

    private static readonly Lazy<(IntPtr Handle, string Path)> Loaded = new(Load);

    /// <summary>The file Confluent.Kafka loaded (and our P/Invokes use).</summary>
    public static string LoadedPath => Loaded.Value.Path;

    /// <summary>librdkafka's version as the loaded file reports it.</summary>
    public static string Version => Confluent.Kafka.Library.VersionString;

    /// <summary>Routes every <c>[LibraryImport("librdkafka")]</c> of <paramref name="assembly"/> to <see cref="LoadedPath"/>.</summary>
    public static void BindImportsOf(Assembly assembly) =>
        NativeLibrary.SetDllImportResolver(assembly, (name, _, _) => name == LibraryName ? Loaded.Value.Handle : IntPtr.Zero);

    private static (IntPtr, string) Load()
    {
        try
        {
            // Forces Confluent.Kafka's own loader (it picks the file that loads on this machine).
            _ = Confluent.Kafka.Library.Version;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException)
        {
            throw new LibrdkafkaNotLoadableException(DescribeFailure());
        }

        var path = FindMappedFile()
            ?? throw new LibrdkafkaNotLoadableException("Confluent.Kafka loaded librdkafka, but no librdkafka file is mapped in this process (/proc/self/maps)");
        return (NativeLibrary.Load(path), path);
    }

    // The kernel's list of files mapped into this process names the file dlopen really opened.
    private static string? FindMappedFile()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }

            var path = line[slash..];
            if (Path.GetFileName(path).Contains("librdkafka", StringComparison.Ordinal))
            {
                return path;
            }
        }

        return null;
    }

    // One line naming each candidate file and what it lacks, for example "…/librdkafka.so needs libsasl2.so.3".
    private static string DescribeFailure()
    {
        var dir = AppContext.BaseDirectory;
        var native = Path.Combine(dir, "runtimes", $"linux-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}", "native");
        var candidates = new[] { Path.Combine(dir, "librdkafka.so") }
            .Concat(Directory.Exists(native) ? Directory.EnumerateFiles(native, "*librdkafka*.so").Order(StringComparer.Ordinal) : [])
            .Where(File.Exists)
            .ToList();
        if (candidates.Count == 0)
        {
            return $"no librdkafka file next to the app ({dir}): the librdkafka.redist package was not restored; run tools/setup.sh";
        }

        var reasons = candidates.Select(file =>
        {
            try
            {
                NativeLibrary.Free(NativeLibrary.Load(file));
                return $"{Path.GetRelativePath(dir, file)} loads but Confluent.Kafka did not pick it";
            }
            catch (DllNotFoundException e)
            {
                var cause = e.Message.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("cannot open shared object file", StringComparison.Ordinal))
                    ?? e.Message.Split('\n')[0];
                return $"{Path.GetRelativePath(dir, file)}: {cause}";
            }
        });
        return "librdkafka cannot be loaded (" + string.Join("; ", reasons) + "). Install the missing library, or build librdkafka from source: ORDERFLOW_LIBRDKAFKA=source tools/setup.sh";
    }
}

/// <summary>librdkafka is not loadable on this machine; the message is one actionable line.</summary>
public sealed class LibrdkafkaNotLoadableException(string message) : Exception(message);
