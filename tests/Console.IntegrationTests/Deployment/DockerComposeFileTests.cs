using System.ComponentModel;
using System.Diagnostics;
using Xunit;

namespace OrderFlow.IntegrationTests.Deployment;

/// <summary>
/// Validates docker-compose.yml offline with `docker-compose config` (Debian package docker-compose 1.29;
/// no Docker engine needed) and checks the service graph it resolves to.
/// </summary>
public sealed class DockerComposeFileTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ComposeFileIsValid()
    {
        await RunComposeAsync("config", "--quiet");
    }

    [Fact]
    public async Task ComposeFileDefinesAllServices()
    {
        var output = await RunComposeAsync("config", "--services");
        var services = output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.Ordinal);

        foreach (var expected in new[] { "kafka", "kafka-init", "postgres", "ingest", "web", "simulator" })
        {
            Assert.True(services.Contains(expected),
                $"docker-compose.yml has no service '{expected}'. Services found: {string.Join(", ", services)}");
        }
    }

    [Fact]
    public async Task KafkaUsesTheOfficialApacheImage()
    {
        var config = await RunComposeAsync("config");
        var kafka = ServiceBlock(config, "kafka");

        Assert.True(
            kafka.Any(line => line.Trim().StartsWith("image: apache/kafka:", StringComparison.Ordinal)),
            "The kafka service must use the apache/kafka image. Its resolved configuration:\n" + string.Join('\n', kafka));
    }

    [Fact]
    public async Task IngestStartsAfterPostgresAndKafkaInit()
    {
        var config = await RunComposeAsync("config");
        var dependencies = DependsOn(ServiceBlock(config, "ingest"));

        Assert.Contains("postgres", dependencies);
        Assert.Contains("kafka-init", dependencies);
    }

    /// <summary>Runs docker-compose against the repository's compose file and returns its standard output.</summary>
    private static async Task<string> RunComposeAsync(params string[] arguments)
    {
        var root = FindRepositoryRoot();
        var composeFile = Path.Combine(root, "docker-compose.yml");
        Assert.True(File.Exists(composeFile), $"{composeFile} does not exist.");

        var startInfo = new ProcessStartInfo("docker-compose")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("-f");
        startInfo.ArgumentList.Add(composeFile);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var commandLine = $"docker-compose -f {composeFile} {string.Join(' ', arguments)}";
        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            Assert.Fail(
                $"Could not start `docker-compose` ({ex.Message}). These tests need the docker-compose 1.29 command line " +
                "(Debian: `apt-get install -y docker-compose`); it validates the compose file offline, no Docker engine is needed.");
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var cancellation = new CancellationTokenSource(Timeout))
        {
            try
            {
                await process.WaitForExitAsync(cancellation.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"`{commandLine}` did not finish within {Timeout.TotalSeconds:0} s.");
            }
        }

        var output = await stdout;
        var errors = await stderr;
        Assert.True(process.ExitCode == 0,
            $"`{commandLine}` exited with code {process.ExitCode}.\nstderr:\n{errors}\nstdout:\n{output}");
        return output;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Console.sln")))
            {
                return directory.FullName;
            }
        }

        Assert.Fail($"Console.sln was not found in {AppContext.BaseDirectory} or any parent directory.");
        return string.Empty;
    }

    /// <summary>
    /// The lines of one service in the YAML printed by `docker-compose config`: services are keys indented by
    /// two spaces under the top-level `services:` key.
    /// </summary>
    private static List<string> ServiceBlock(string config, string service)
    {
        var lines = config.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var block = new List<string>();
        var inServices = false;
        var inService = false;
        foreach (var line in lines)
        {
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
            {
                inServices = line.StartsWith("services:", StringComparison.Ordinal);
                inService = false;
                continue;
            }

            if (!inServices)
            {
                continue;
            }

            if (Indent(line) == 2 && line.TrimEnd().EndsWith(':'))
            {
                inService = string.Equals(line.Trim(), service + ":", StringComparison.Ordinal);
                continue;
            }

            if (inService)
            {
                block.Add(line);
            }
        }

        Assert.True(block.Count > 0, $"Service '{service}' not found in the resolved configuration:\n{config}");
        return block;
    }

    /// <summary>Service names under `depends_on:`, in either the mapping (with conditions) or the list form.</summary>
    private static List<string> DependsOn(List<string> serviceBlock)
    {
        var dependencies = new List<string>();
        var start = serviceBlock.FindIndex(line => string.Equals(line.Trim(), "depends_on:", StringComparison.Ordinal));
        if (start < 0)
        {
            return dependencies;
        }

        var keyIndent = Indent(serviceBlock[start]);
        int? childIndent = null;
        foreach (var line in serviceBlock.Skip(start + 1))
        {
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var indent = Indent(line);
            var trimmed = line.Trim();
            var isListItem = trimmed.StartsWith("- ", StringComparison.Ordinal);
            if (indent < keyIndent || (indent == keyIndent && !isListItem))
            {
                break;
            }

            childIndent ??= indent;
            if (indent != childIndent)
            {
                continue;
            }

            dependencies.Add(isListItem ? trimmed[2..].Trim() : trimmed.TrimEnd(':'));
        }

        return dependencies;
    }

    private static int Indent(string line) => line.Length - line.TrimStart(' ').Length;
}
