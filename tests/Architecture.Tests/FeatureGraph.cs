using System.Reflection;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Aetherra.Architecture.Tests;

/// <summary>One feature folder using another, with the types that make it do so ("Common.Sessions uses Audit.AuditTrail").</summary>
/// <remarks>Internal, as the graph's other types: EventNameTests reads this assembly's public sealed records as events.</remarks>
internal sealed record FeatureEdge(string From, string To, IReadOnlyList<string> Because);

/// <summary>Feature folders that reach each other through a loop, and every edge between them.</summary>
internal sealed record FeatureCycle(IReadOnlyList<string> Features, IReadOnlyList<FeatureEdge> Edges)
{
    public override string ToString() =>
        $"loop between {string.Join(", ", Features)}:" + string.Concat(Edges.Select(e =>
            $"\n  {e.From} -> {e.To} because {string.Join("; ", e.Because.Take(5))}{(e.Because.Count > 5 ? $"; and {e.Because.Count - 5} more" : "")}"));
}

/// <summary>
/// The dependencies between the feature folders of one assembly, read from its compiled metadata and IL (not
/// from <c>using</c> lines, which say nothing about fully qualified names and too much about unused imports).
/// A feature folder is the namespace segment after the assembly's root: Aetherra.Application.Plugins.Hub is in
/// Plugins. A type uses another when it names it as a base type or interface, in an attribute, a field, a
/// property, an event, a method's signature or generic constraints, a local, or an instruction of a method body
/// (a call, a field access, a typeof, a cast, a new). Compiler-generated nested types (closures, lambdas, async
/// and iterator state machines) count for the type that declares them. Types outside the root (Wolverine's
/// pre-generated Internal.Generated code, the global namespace) are no feature and are left out.
/// </summary>
internal static class FeatureGraph
{
    /// <summary>The edges between distinct feature folders of <paramref name="assembly"/> under <paramref name="root"/>.</summary>
    public static IReadOnlyList<FeatureEdge> Edges(Assembly assembly, string root) => Edges(assembly.Location, root);

    public static IReadOnlyList<FeatureEdge> Edges(string path, string root)
    {
        using var module = ModuleDefinition.ReadModule(path, new ReaderParameters { ReadSymbols = false });
        var because = new Dictionary<(string From, string To), SortedSet<string>>();
        foreach (var type in module.GetTypes())
        {
            var owner = Outermost(type);
            if (Feature(owner.Namespace, root) is not { } from) continue;
            foreach (var used in Used(type))
            {
                if (used.Scope is not ModuleDefinition m || m != module) continue;
                var target = Outermost(used);
                if (Feature(target.Namespace, root) is not { } to || to == from) continue;
                if (!because.TryGetValue((from, to), out var set)) because[(from, to)] = set = new(StringComparer.Ordinal);
                set.Add($"{Short(owner, root)} uses {Short(target, root)}");
            }
        }
        return because.OrderBy(e => e.Key.From, StringComparer.Ordinal).ThenBy(e => e.Key.To, StringComparer.Ordinal)
            .Select(e => new FeatureEdge(e.Key.From, e.Key.To, e.Value.ToList())).ToList();
    }

    /// <summary>The feature folder of a namespace: the segment after <paramref name="root"/>, or none outside it.</summary>
    public static string? Feature(string ns, string root) =>
        ns.StartsWith(root + ".", StringComparison.Ordinal) ? ns[(root.Length + 1)..].Split('.')[0] : null;

    /// <summary>
    /// Every loop of the graph, one per strongly connected component of more than one feature (Tarjan), with all
    /// the edges inside it: every cycle there is goes through those edges, so they are what to move.
    /// </summary>
    public static IReadOnlyList<FeatureCycle> Cycles(IReadOnlyList<FeatureEdge> edges)
    {
        var next = edges.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).ToList());
        var nodes = edges.SelectMany(e => new[] { e.From, e.To }).Distinct().Order(StringComparer.Ordinal).ToList();
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var components = new List<List<string>>();

        void Connect(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in next.GetValueOrDefault(v) ?? [])
            {
                if (!index.ContainsKey(w))
                {
                    Connect(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do
            {
                x = stack.Pop();
                onStack.Remove(x);
                component.Add(x);
            } while (x != v);
            components.Add(component);
        }

        foreach (var node in nodes)
            if (!index.ContainsKey(node)) Connect(node);
        return components.Where(c => c.Count > 1)
            .Select(c => c.Order(StringComparer.Ordinal).ToList())
            .OrderBy(c => c[0], StringComparer.Ordinal)
            .Select(c => new FeatureCycle(c, edges.Where(e => c.Contains(e.From) && c.Contains(e.To)).ToList()))
            .ToList();
    }

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.DeclaringType is { } outer) type = outer;
        return type;
    }

    private static string Short(TypeReference type, string root) => type.FullName[(root.Length + 1)..];

    /// <summary>Every type a type's own definition and members name, before generic instances and arrays are taken apart.</summary>
    private static IEnumerable<TypeReference> Used(TypeDefinition type)
    {
        var named = new List<TypeReference>();
        if (type.BaseType is { } b) named.Add(b);
        named.AddRange(type.Interfaces.Select(i => i.InterfaceType));
        named.AddRange(Attributes(type));
        named.AddRange(type.GenericParameters.SelectMany(Constraints));
        foreach (var field in type.Fields)
        {
            named.Add(field.FieldType);
            named.AddRange(Attributes(field));
        }
        foreach (var property in type.Properties)
        {
            named.Add(property.PropertyType);
            named.AddRange(Attributes(property));
        }
        foreach (var e in type.Events)
        {
            named.Add(e.EventType);
            named.AddRange(Attributes(e));
        }
        foreach (var method in type.Methods)
        {
            named.AddRange(Signature(method));
            named.AddRange(Attributes(method));
            named.AddRange(method.MethodReturnType.CustomAttributes.Select(a => a.AttributeType));
            named.AddRange(method.GenericParameters.SelectMany(Constraints));
            foreach (var p in method.Parameters) named.AddRange(Attributes(p));
            if (!method.HasBody) continue;
            named.AddRange(method.Body.Variables.Select(v => v.VariableType));
            named.AddRange(method.Body.ExceptionHandlers.Where(h => h.CatchType is not null).Select(h => h.CatchType));
            foreach (var instruction in method.Body.Instructions) named.AddRange(Operand(instruction));
        }
        return named.SelectMany(Parts);
    }

    private static IEnumerable<TypeReference> Operand(Instruction instruction) => instruction.Operand switch
    {
        TypeReference t => [t],
        MethodReference m => Signature(m).Append(m.DeclaringType)
            .Concat(m is GenericInstanceMethod g ? g.GenericArguments : []),
        FieldReference f => [f.DeclaringType, f.FieldType],
        _ => [],
    };

    private static IEnumerable<TypeReference> Signature(MethodReference method) =>
        method.Parameters.Select(p => p.ParameterType).Append(method.ReturnType);

    private static IEnumerable<TypeReference> Constraints(GenericParameter parameter) =>
        parameter.Constraints.Select(c => c.ConstraintType);

    /// <summary>An attribute's type and every type it names as an argument (typeof(X) in [ProducesResponseType(typeof(X))]).</summary>
    private static IEnumerable<TypeReference> Attributes(Mono.Cecil.ICustomAttributeProvider provider) =>
        provider.CustomAttributes.SelectMany(a => a.ConstructorArguments.Concat(a.Properties.Select(p => p.Argument))
            .Concat(a.Fields.Select(f => f.Argument))
            .Select(arg => arg.Value).OfType<TypeReference>()
            .Append(a.AttributeType));

    /// <summary>A type and what it is built of: a generic instance's definition and arguments, an array's or a ref's element.</summary>
    private static IEnumerable<TypeReference> Parts(TypeReference type)
    {
        switch (type)
        {
            case GenericInstanceType g:
                foreach (var part in g.GenericArguments.SelectMany(Parts).Concat(Parts(g.ElementType))) yield return part;
                break;
            case TypeSpecification s:
                foreach (var part in Parts(s.ElementType)) yield return part;
                break;
            case GenericParameter:
                break;
            default:
                yield return type;
                break;
        }
    }
}
