using System.Security.Cryptography;
using System.Text;

namespace OrderFlow.Domain.Events;

/// <summary>
/// Event ids for facts that happen at most once per order (its expiry, its refund): the MD5 of
/// <c>&lt;step&gt;:&lt;orderId&gt;</c> laid out as a version-3 UUID. Whoever publishes the fact, and however often,
/// the read model sees one event id, so a second publication folds as a duplicate.
/// </summary>
public static class NameBasedEventId
{
    /// <summary>For ("order-expired", "ORD-1") the id Console.Ingest's SLA watcher and the simulator's order service both use.</summary>
    public static Guid For(string step, string orderId)
    {
        var hash = MD5.HashData(Encoding.UTF8.GetBytes(step + ":" + orderId));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x30);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash, bigEndian: true);
    }
}
