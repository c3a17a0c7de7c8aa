using System.Text;

namespace OrderFlow.Platform.ReadModel;

/// <summary>
/// The changed orders of a write too many to name in a NOTIFY payload, as a Bloom filter: an order page asks whether its
/// order may be among them. Never a false "no"; a false "yes" (one re-read of an order page for nothing) for about 0.5 %
/// of the orders not in a 2,000-order batch (32,768 bits, 3 probes), so open order pages stay quiet while the projection
/// writes large batches (docs/benchmarks.md, event→screen latency under load). Written by Console.Ingest and read by
/// Console.Web, both through this type: the hash is FNV-1a 64 over the id's UTF-8 bytes, finished by splitmix64's mix.
/// </summary>
public sealed class OrderIdFilter
{
    public const int Bits = 32_768;
    private const int Probes = 3;
    private readonly byte[] _bits;

    private OrderIdFilter(byte[] bits) => _bits = bits;

    public static OrderIdFilter Of(IEnumerable<string> orderIds)
    {
        var filter = new OrderIdFilter(new byte[Bits / 8]);
        foreach (var id in orderIds)
        {
            foreach (var bit in BitsOf(id))
            {
                filter._bits[bit >> 3] |= (byte)(1 << (bit & 7));
            }
        }

        return filter;
    }

    /// <summary>False only when the order is certainly not among the filter's.</summary>
    public bool MightContain(string orderId)
    {
        foreach (var bit in BitsOf(orderId))
        {
            if ((_bits[bit >> 3] & (1 << (bit & 7))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    public string ToBase64() => Convert.ToBase64String(_bits);

    /// <summary>Null when the text is not a filter of this size (an unreadable part: any order may have changed).</summary>
    public static OrderIdFilter? FromBase64(string text)
    {
        var bits = new byte[Bits / 8];
        return Convert.TryFromBase64String(text, bits, out var written) && written == bits.Length ? new OrderIdFilter(bits) : null;
    }

    private static int[] BitsOf(string orderId)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(orderId))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        // splitmix64's finalizer spreads FNV's weak low bits; the two halves drive double hashing.
        hash = (hash ^ (hash >> 30)) * 0xbf58476d1ce4e5b9UL;
        hash = (hash ^ (hash >> 27)) * 0x94d049bb133111ebUL;
        hash ^= hash >> 31;
        var h1 = (uint)hash;
        var h2 = (uint)(hash >> 32) | 1;
        var bits = new int[Probes];
        for (var i = 0; i < Probes; i++)
        {
            bits[i] = (int)((h1 + ((uint)i * h2)) % Bits);
        }

        return bits;
    }
}
