using System.Security.Cryptography;

namespace Aetherra.Domain.Tests;

/// <summary>Builders for events and the fold, so each test reads as given events, when a decision, then an outcome.</summary>
internal static class Given
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Sealed content needs no real crypto here: the domain only carries the bytes.</summary>
    public static EncryptedText Sealed() =>
        new(Guid.NewGuid(), RandomNumberGenerator.GetBytes(24), RandomNumberGenerator.GetBytes(40));

    public static string Hash() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public static MemoryRecorded Recorded(DateTimeOffset? expiresAt = null, string hash = "hash-0") => new(
        MemoryId: Guid.NewGuid(),
        Subject: "user:alice",
        Agent: "agent:concierge",
        Session: "session-1",
        Kind: MemoryKind.Preference,
        Tags: ["drink"],
        Importance: 0.5,
        Classification: Classification.Internal,
        OccurredAt: T0.AddMinutes(-5),
        RecordedAt: T0,
        ExpiresAt: expiresAt,
        Source: "chat",
        Content: Sealed(),
        ContentHash: hash);

    public static MemoryRevised Revised(Guid id, string hash, DateTimeOffset at) => new(id, Sealed(), hash, "corrected", at);

    public static MemoryForgotten Forgotten(Guid id, DateTimeOffset at) => new(id, "asked to", at);

    /// <summary>The fold Marten runs: the first event creates the state, each later one applies to it.</summary>
    public static MemoryState Fold(IEnumerable<object> events)
    {
        MemoryState? state = null;
        foreach (var e in events)
        {
            state = (state, e) switch
            {
                (null, MemoryRecorded r) => MemoryState.Create(r),
                ({ } s, MemoryRevised r) => s.Apply(r),
                ({ } s, MemoryForgotten f) => s.Apply(f),
                _ => throw new InvalidOperationException($"{e.GetType().Name} cannot follow {state?.GetType().Name ?? "nothing"}"),
            };
        }
        return state ?? throw new InvalidOperationException("no events to fold");
    }

    public static MemoryState Fold(params object[] events) => Fold((IEnumerable<object>)events);
}
