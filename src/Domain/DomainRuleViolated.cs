namespace Aetherra.Domain;

/// <summary>A command that is well formed but breaks a rule of the domain (answered as 422).</summary>
public sealed class DomainRuleViolated(string message) : Exception(message);
