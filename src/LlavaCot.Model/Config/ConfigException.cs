namespace LlavaCot.Model.Config;

/// <summary>A configuration file that is missing, malformed, or lacks a required field; the message names the file and field.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : Exception(message, inner);
