using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrderFlow.Domain.Orders;

/// <summary>How the folded state is stored next to the read model, so the fold resumes where it stopped.</summary>
// Defaults (zero counts, null times, in-progress) are left out: they read back the same, and the state is written with every order change.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(OrderState))]
public sealed partial class OrderStateJson : JsonSerializerContext
{
    public static string Write(OrderState state) => JsonSerializer.Serialize(state, Default.OrderState);

    public static OrderState Read(string json) =>
        JsonSerializer.Deserialize(json, Default.OrderState) ?? throw new JsonException("order state is null");
}
