// replies: every SMTP reply backstop sends, in one table (code, RFC 3463 enhanced code, text),
// after OpenSMTPD's esc.c. Sessions and checks pick a constant; some append detail text.
#pragma once

#include "mail/reply.hpp"

namespace backstop::mail::replies {

// 2xx
inline const Reply ok{250, "2.0.0", "Ok"};
inline const Reply sender_ok{250, "2.1.0", "Sender ok"};
inline const Reply recipient_ok{250, "2.1.5", "Recipient ok"};
inline const Reply reset_ok{250, "2.0.0", "Reset ok"};
inline const Reply noop_ok{250, "2.0.0", "Ok"};
inline const Reply cannot_vrfy{252, "2.5.0",
                               "Cannot VRFY user, but will accept message and attempt delivery"};
inline const Reply help{214, "2.0.0",
                        "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP "
                        "STARTTLS ETRN"};
inline const Reply start_tls{220, "2.0.0", "Ready to start TLS"};
inline const Reply bye{221, "2.0.0", "Bye"};
inline const Reply start_data{354, "", "End data with <CR><LF>.<CR><LF>"};

// 4xx: we could not decide or could not store; the client keeps the message and retries.
inline const Reply too_many_connections{421, "4.7.0", "Too many connections, try again later"};
inline const Reply too_many_from_ip{421, "4.7.0", "Too many connections from your address"};
inline const Reply too_many_from_network{421, "4.7.0", "Too many connections from your network"};
inline const Reply timeout{421, "4.4.2", "Timeout, closing connection"};
inline const Reply too_many_errors{421, "4.7.0", "Too many errors, closing connection"};
inline const Reply shutting_down{421, "4.3.2", "Service shutting down, try again later"};
inline const Reply queue_write_error{451, "4.3.0", "Queue write error, try again later"};
inline const Reply queue_unavailable{451, "4.3.0", "Queue unavailable, try again later"};
inline const Reply disk_full{452, "4.3.1", "Insufficient system storage, try again later"};
inline const Reply too_many_recipients{452, "4.5.3", "Too many recipients"};
inline const Reply tls_not_available{454, "4.7.0", "TLS not available"};
inline const Reply recipient_unverified{450, "4.1.1",
                                        "Recipient cannot be verified now, try again later"};
inline const Reply sender_domain_unchecked{451, "4.4.3",
                                           "Sender domain cannot be checked now, try again later"};
inline const Reply sender_callout_unchecked{
    451, "4.7.1", "Sender address cannot be verified now, try again later"};
inline const Reply no_destination{451, "4.4.4", "Cannot deliver mail for this domain now"};
inline const Reply policy_score{550, "5.7.1", "Message refused by policy"};
inline const Reply too_many_unknown{421, "4.7.0",
                                    "Too many unknown recipients, closing connection"};
inline const Reply spf_temperror{451, "4.7.24", "SPF check cannot be done now, try again later"};
inline const Reply spf_deferred{451, "4.7.1", "SPF check deferred, try again later"};
inline const Reply greylisted{451, "4.7.1", "Greylisted, try again later"}; // + the wait
inline const Reply blacklist_ptr_unchecked{451, "4.7.1",
                                           "Your host name cannot be checked now, try again later"};

// 5xx
inline const Reply syntax_error{500, "5.5.2", "Syntax error, command unrecognized"};
inline const Reply line_too_long{500, "5.5.2", "Line too long"};
inline const Reply bare_line_ending{500, "5.5.2", "Command lines must end with CRLF"};
inline const Reply parameter_error{501, "5.5.4", "Syntax error in parameters or arguments"};
inline const Reply address_syntax{501, "5.1.3", "Bad address syntax"};
inline const Reply sender_syntax{501, "5.1.7", "Bad sender address syntax"};
inline const Reply helo_required{501, "5.5.4", "Syntax: EHLO hostname"};
inline const Reply not_implemented{502, "5.5.1", "Command not implemented"};
inline const Reply bad_sequence{503, "5.5.1", "Bad sequence of commands"};
inline const Reply need_mail{503, "5.5.1", "Error: need MAIL command"};
inline const Reply need_rcpt{503, "5.5.1", "Error: need RCPT command"};
inline const Reply need_helo{503, "5.5.1", "Error: send HELO/EHLO first"};
inline const Reply nested_mail{503, "5.5.1", "Error: nested MAIL command"};
inline const Reply already_tls{503, "5.5.1", "TLS already active"};
inline const Reply unknown_parameter{555, "5.5.4", "Unsupported MAIL/RCPT parameter"};
inline const Reply size_exceeded{552, "5.3.4", "Message size exceeds fixed limit"};
inline const Reply too_many_hops{554, "5.4.6", "Too many hops, mail loop"};
inline const Reply relay_denied{550, "5.7.1", "Relaying denied"};
inline const Reply sender_routing_denied{550, "5.7.1", "Relaying denied"}; // + the routing
inline const Reply dnsbl_listed{554, "5.7.1", "Service unavailable"};      // + zones, TXT
inline const Reply blacklisted{550, "5.7.1",
                               "you tried me, a backup MX, too often while the primary MX is "
                               "online"};
inline const Reply unknown_recipient{550, "5.1.1", "Recipient address rejected: no such user"};
inline const Reply sender_domain_missing{550, "5.1.8", "Sender address rejected: domain not found"};
inline const Reply spf_fail{550, "5.7.23", "SPF check failed"}; // + the domain's explanation
inline const Reply spf_permerror{550, "5.7.24", "SPF record of the sender's domain is broken"};
inline const Reply sender_callout_refused{550, "5.7.1", "Sender address rejected"}; // + MX reply
inline const Reply utf8_needs_smtputf8{553, "5.6.7", "Non-ASCII address requires SMTPUTF8"};
inline const Reply data_line_too_long{500, "5.5.6", "Message line too long"};
inline const Reply bare_lf_in_data{554, "5.6.0", "Bare CR or LF in message data is not allowed"};
inline const Reply etrn_denied{459, "4.7.1", "ETRN not allowed for your address"};
inline const Reply etrn_unknown_domain{458, "4.7.1", "Unable to queue messages for that node"};
inline const Reply etrn_started{250, "2.0.0", "Queuing started"};

} // namespace backstop::mail::replies
