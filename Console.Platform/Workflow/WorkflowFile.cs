using System.Text.Json;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using OrderFlow.Platform.Hosting;

namespace OrderFlow.Platform.Workflow;

/// <summary>The workflow file as a configuration source: required and readable at start, watched for changes afterwards.</summary>
public static class WorkflowFile
{
    /// <summary>The file's full path: <paramref name="file"/> (Workflow:File) relative to the app's folder, workflow.json by default.</summary>
    public static string PathOf(string? file) => Path.GetFullPath(string.IsNullOrWhiteSpace(file) ? "workflow.json" : file, AppContext.BaseDirectory);

    public static JsonConfigurationSource Source(string? file)
    {
        var path = PathOf(file);
        if (Problem(path) is { } problem)
        {
            throw new StartupFailedException($"Workflow: {problem}. Fix the file or set Workflow__File.");
        }

        var source = new JsonConfigurationSource
        {
            Path = Path.GetFileName(path),
            Optional = false,
            ReloadOnChange = true,
            ReloadDelay = 100,
            FileProvider = new PhysicalFileProvider(Path.GetDirectoryName(path)!),
        };

        // After start a broken file must not stop the app: its reload is refused by Console.Ingest's WorkflowReload, which
        // reads the file's problem itself, and the workflow in force keeps running.
        source.OnLoadException = context => context.Ignore = true;
        return source;
    }

    /// <summary>Why the file cannot be a workflow file (missing, unreadable, not JSON), in one line; null when it can.</summary>
    public static string? Problem(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return document.RootElement.ValueKind == JsonValueKind.Object ? null : $"{path} is not a JSON object";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"{path} cannot be read ({ex.Message})";
        }
        catch (JsonException ex)
        {
            return $"{path} is not valid JSON ({ex.Message})";
        }
    }
}
