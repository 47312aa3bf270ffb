//! Why a command stopped, and its exit status: the one mapping from
//! libkitsu's errors to what a shell script tests.

use kitsu::Error;

#[derive(Debug)]
pub enum Failure {
    /// Exit 2: the command line, or something it names, is wrong.
    Usage(String),
    /// Exit 3: the server refused the account or token.
    Auth(String),
    /// Exit 4: no answer from the server at all.
    Unreachable(String),
    /// Exit 1: items failed; the summary listed them.
    ItemsFailed { failed: usize, total: usize },
    /// Exit 1: the command's one request failed.
    Failed(String),
    /// Exit 130: Ctrl-C; the summary said what was done.
    Interrupted,
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::ItemsFailed { .. } | Failure::Failed(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Auth(_) => 3,
            Failure::Unreachable(_) => 4,
            Failure::Interrupted => 130,
        }
    }

    /// The last line on stderr.
    pub fn print(&self) {
        match self {
            Failure::Usage(message) => eprintln!("kitsu: {message}"),
            Failure::Auth(message) => eprintln!("kitsu: authentication failed: {message}"),
            Failure::Unreachable(message) => eprintln!("kitsu: server unreachable: {message}"),
            Failure::ItemsFailed { failed, total } => {
                eprintln!("kitsu: {failed} of {total} item(s) failed")
            }
            Failure::Failed(message) => eprintln!("kitsu: {message}"),
            Failure::Interrupted => eprintln!("kitsu: interrupted"),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let message = error.to_string();
        match error.root() {
            Error::Connect { .. } | Error::ConnectTimeout { .. } | Error::Tls { .. } => {
                Failure::Unreachable(message)
            }
            Error::AuthFailed { .. } => Failure::Auth(message),
            Error::Http { status: 401, .. } => Failure::Auth(message),
            Error::Cancelled => Failure::Interrupted,
            Error::InvalidParameter(_) => Failure::Usage(message),
            _ => Failure::Failed(message),
        }
    }
}
