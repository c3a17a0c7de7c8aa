namespace OrderFlow.Testing;

/// <summary>
/// Console.Web refuses to start when nobody can sign in: tests that start it outside Development give it these
/// (one local user and one API key per role, the same names and roles as the README's demo users).
/// </summary>
public static class TestUsers
{
    public static readonly IReadOnlyList<(string User, string Password, string Role, string ApiKey)> All =
    [
        ("agent", "agent-test-password", "SupportAgent", "test-key-support-agent-0001"),
        ("lead", "lead-test-password", "OpsLead", "test-key-ops-lead-000000001"),
        ("lead2", "lead2-test-password", "OpsLead", "test-key-ops-lead-000000002"),
        ("business", "business-test-password", "BusinessUser", "test-key-business-user-0001"),
    ];

    public static string ApiKeyOf(string role) => All.First(u => u.Role == role).ApiKey;

    /// <summary>The Auth settings as environment variables, added to <paramref name="environment"/>.</summary>
    public static Dictionary<string, string> With(Dictionary<string, string> environment)
    {
        for (var i = 0; i < All.Count; i++)
        {
            var (user, password, role, key) = All[i];
            environment[$"Auth__LocalUsers__{i}__User"] = user;
            environment[$"Auth__LocalUsers__{i}__Password"] = password;
            environment[$"Auth__LocalUsers__{i}__Role"] = role;
            environment[$"Auth__ApiKeys__{i}__Name"] = user;
            environment[$"Auth__ApiKeys__{i}__Key"] = key;
            environment[$"Auth__ApiKeys__{i}__Role"] = role;
        }

        return environment;
    }
}
