// A deliberate loop between two feature folders of this test assembly (root Aetherra.Architecture.Tests.Violations),
// one type per way of using another, so FolderRuleProofs can show the checker finds each of them.
namespace Aetherra.Architecture.Tests.Violations.Left;

/// <summary>Uses Right only through a field.</summary>
public sealed class ByField
{
    public Right.Target? Held;
}

/// <summary>Uses Right only as its base type.</summary>
public sealed class ByBase : Right.Base;

/// <summary>Uses Right only through an attribute.</summary>
[Right.Mark]
public sealed class ByAttribute;

/// <summary>Uses Right only in a method's signature, through a generic argument.</summary>
public static class BySignature
{
    public static IReadOnlyList<Right.Target> None() => [];
}

/// <summary>Uses Right only inside a lambda of an async method body: the closure and state machine count for it.</summary>
public static class ByBody
{
    public static async Task<int> CountAsync(IEnumerable<object> items)
    {
        await Task.Yield();
        return items.Count(i => Right.Target.Matches(i));
    }
}

/// <summary>Uses Down, which uses nothing back: an edge outside any loop.</summary>
public static class ByDown
{
    public static string Name() => Down.Leaf.Name();
}

public static class Callee
{
    public static int Answer() => 42;
}
