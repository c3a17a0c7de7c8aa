using System.Text;
using System.Text.RegularExpressions;
using OrderFlow.Domain.Control;

namespace OrderFlow.Domain.Tests.Control;

/// <summary>The examples in docs/examples/control and the kcat commands in docs/control-events.md are what other teams copy: they must parse.</summary>
public partial class ControlEventExamplesTests
{
    private static readonly string Root = RepositoryRoot();

    public static TheoryData<string, string> DocumentedCommands()
    {
        var data = new TheoryData<string, string>();
        foreach (var (key, file) in KcatCommands())
        {
            data.Add(key, file);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DocumentedCommands))]
    public void Each_documented_kcat_command_produces_a_valid_control_event(string key, string file)
    {
        var value = File.ReadAllBytes(Path.Combine(Root, file));

        Assert.True(ControlEventCodec.TryParse(Encoding.UTF8.GetBytes(key), value, out var parsed, out var error), $"{file} with key {key}: {error}");
        Assert.Equal(Path.GetFileNameWithoutExtension(file), parsed!.Type);
        Assert.Equal(key, parsed.Key);
    }

    [Fact]
    public void Every_example_file_has_a_kcat_command_and_every_type_an_example()
    {
        var examples = Directory.GetFiles(Path.Combine(Root, "docs", "examples", "control"), "*.json")
            .Select(f => "docs/examples/control/" + Path.GetFileName(f))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(examples, KcatCommands().Select(c => c.File).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(
            ControlEventTypes.All.Order(StringComparer.Ordinal),
            examples.Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_json_schema_names_every_type()
    {
        var schema = File.ReadAllText(Path.Combine(Root, "docs", "schemas", "control-event.v1.schema.json"));

        Assert.All(ControlEventTypes.All, type => Assert.Contains($"\"{type}\"", schema, StringComparison.Ordinal));
    }

    private static List<(string Key, string File)> KcatCommands()
    {
        var doc = File.ReadAllText(Path.Combine(Root, "docs", "control-events.md"));
        var commands = KcatCommand().Matches(doc).Select(m => (m.Groups["key"].Value, m.Groups["file"].Value)).ToList();
        Assert.NotEmpty(commands);
        return commands;
    }

    [GeneratedRegex(@"kcat -P -b \S+ -t order-control -k (?<key>\S+)(?: -H \S+)* (?<file>docs/examples/control/[a-z-]+\.json)")]
    private static partial Regex KcatCommand();

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Console.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Console.sln not found above " + AppContext.BaseDirectory);
    }
}
