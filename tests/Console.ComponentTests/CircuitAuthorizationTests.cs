using System.Security.Claims;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Domain.Actions;
using OrderFlow.Platform.Kafka;
using OrderFlow.Web.Actions;
using OrderFlow.Web.Bulk;

namespace OrderFlow.ComponentTests;

/// <summary>
/// The circuit handlers' side of the authorization matrix: the console's buttons call <see cref="OperatorActions"/> with
/// the circuit's user, and it decides by the permission table before anything else. Its database is a closed port: a
/// role the table refuses is turned away without touching it; a role the table allows gets past the gate (to the
/// database, which then fails). Every action × every role × anonymous.
/// </summary>
public sealed class CircuitAuthorizationTests
{
    /// <summary>Each action the console offers in a circuit, with the call its button makes (accepted?, refusal).</summary>
    private static readonly IReadOnlyDictionary<OperatorAction, Func<OperatorActions, BulkJobStore, ClaimsPrincipal, Task<(bool, RefusalCode?)>>> Handlers =
        new Dictionary<OperatorAction, Func<OperatorActions, BulkJobStore, ClaimsPrincipal, Task<(bool, RefusalCode?)>>>
        {
            [OperatorAction.Replay] = (a, _, u) => Single(a.ReplayAsync(u, Guid.NewGuid(), 1, "r", force: false, confirmed: false)),
            [OperatorAction.Purge] = (a, _, u) => Single(a.PurgeAsync(u, Guid.NewGuid(), 1, "r")),
            [OperatorAction.Skip] = (a, _, u) => Single(a.SkipAsync(u, Guid.NewGuid(), 1, "r")),
            [OperatorAction.PaymentRetryOutreach] = (a, _, u) => Single(a.OutreachAsync(u, Guid.NewGuid(), "ORD-1", "email", "r")),
            [OperatorAction.ManualExpiry] = (a, _, u) => Single(a.ExpireAsync(u, Guid.NewGuid(), "ORD-1", "r")),
            [OperatorAction.DismissQuarantined] = (a, _, u) => Single(a.DismissQuarantinedAsync(u, Guid.NewGuid(), "c", "r")),
            [OperatorAction.BulkReplay] = (_, b, u) => Bulk(b.CreateAsync(u, BulkKind.Replay, new BulkJobRequest(Guid.NewGuid(), "r", new BulkSelection(Cause: "c")))),
            [OperatorAction.BulkPurge] = (_, b, u) => Bulk(b.CreateAsync(u, BulkKind.Purge, new BulkJobRequest(Guid.NewGuid(), "r", new BulkSelection(Cause: "c")))),
            [OperatorAction.ApproveBulkPurge] = (_, b, u) => Bulk(b.ControlAsync(u, Guid.NewGuid(), BulkCommand.Approve)),
        };

    /// <summary>The bulk page's other buttons (start, pause, resume, cancel) are gated like a bulk action.</summary>
    [Theory]
    [InlineData(BulkCommand.Start)]
    [InlineData(BulkCommand.Pause)]
    [InlineData(BulkCommand.Resume)]
    [InlineData(BulkCommand.Cancel)]
    public async Task A_bulk_job_command_is_refused_to_every_role_but_ops_lead_before_the_database(BulkCommand command)
    {
        await using var closed = ClosedDatabase();
        var store = Store(closed);
        foreach (var role in Enum.GetNames<OperatorRole>().Append("anonymous"))
        {
            if (role == nameof(OperatorRole.OpsLead))
            {
                await Assert.ThrowsAnyAsync<NpgsqlException>(() => store.ControlAsync(User(role), Guid.NewGuid(), command));
            }
            else
            {
                Assert.Equal(RefusalCode.NotPermitted, (await store.ControlAsync(User(role), Guid.NewGuid(), command)).Refusal);
            }
        }
    }

    private static async Task<(bool, RefusalCode?)> Single(Task<ActionOutcome> outcome) => (await outcome) is var o ? (o.Accepted, o.Refusal) : default;

    private static async Task<(bool, RefusalCode?)> Bulk(Task<BulkOutcome> outcome) => (await outcome) is var o ? (o.Accepted, o.Refusal) : default;

    private static NpgsqlDataSource ClosedDatabase() => NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Timeout=1;Pooling=false");

    private static BulkJobStore Store(NpgsqlDataSource db) => new(db, Options.Create(new BulkOptions()), Options.Create(new ActionOptions()), TimeProvider.System);

    private static ClaimsPrincipal User(string role) => role == "anonymous"
        ? new ClaimsPrincipal(new ClaimsIdentity())
        : new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "someone"), new Claim(ClaimTypes.Role, role)], "test"));

    public static TheoryData<OperatorAction, string> Cases()
    {
        var cases = new TheoryData<OperatorAction, string>();
        foreach (var action in Handlers.Keys)
        {
            foreach (var role in Enum.GetNames<OperatorRole>().Append("anonymous"))
            {
                cases.Add(action, role);
            }
        }

        return cases;
    }

    [Fact]
    public void Every_operator_action_has_a_row()
    {
        Assert.Equal(Enum.GetValues<OperatorAction>().Order(), Handlers.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_circuit_handler_admits_exactly_the_roles_of_the_permission_table(OperatorAction action, string role)
    {
        await using var closed = ClosedDatabase();
        var actions = new OperatorActions(closed, Options.Create(new ActionOptions()), Options.Create(new KafkaOptions { BootstrapServers = "127.0.0.1:1" }), TimeProvider.System);
        var user = User(role);
        var allowed = role != "anonymous" && ActionPermissions.Allows(Enum.Parse<OperatorRole>(role), action);

        if (allowed)
        {
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => Handlers[action](actions, Store(closed), user));
        }
        else
        {
            var (accepted, refusal) = await Handlers[action](actions, Store(closed), user);
            Assert.False(accepted);
            Assert.Equal(RefusalCode.NotPermitted, refusal);
        }
    }
}
