#!/bin/sh
# Scenario 2, one event, two services (the e-commerce case): the shop
# publishes each order to the topic "orders", to which an e-mail queue and
# an invoice queue are subscribed; each service consumes its own queue.
# The shop answers its customer as soon as the order is stored, whatever the
# services are doing.  The invoice service goes down for a few seconds: its
# orders wait in invoice/new/, and it catches up when it is back.  Each
# order gives exactly one e-mail and one invoice.
. "$(dirname -- "$0")/scenario.sh"

n=$(scaled 30)			# orders, one every 0.3 s
third=$(((n + 2) / 3))
mqput -c -l email </dev/null && mqput -c -l invoice </dev/null
mqpub -a -c orders email invoice
mkdir emails invoices
say "the topic orders feeds the queues $(ls -m orders/subscribers)"

# A service writes one file per order, named by its copy's id (order-7.email),
# and notes each message it handled.
service() {	# QUEUE DIRECTORY
	bg mqwatch "$1" -- sh -c "cat >$2/\$MQ_ID && echo \$MQ_ID >>$1.log"
}
service email emails
service invoice invoices
inv=$!

i=1
while [ "$i" -le "$n" ]; do
	if [ "$i" = $((third + 1)) ]; then
		stop "$inv"
		say "after $third orders, the invoice service is down"
	fi
	if [ "$i" = $((2 * third + 1)) ]; then
		say "with $((i - 1)) orders taken: $(n_of emails) e-mails sent," \
		    "$(n_of invoices) invoices made, $(n_of invoice/new) waiting in invoice/new/"
		service invoice invoices
		say "the invoice service is back"
	fi
	echo "order $i: 2 books, to be paid" | mqpub -q -i "order-$i" orders ||
		fail "order $i not published"
	i=$((i + 1))
	sleep 0.3
done

# Everything handled: nothing waits or runs in either queue.
drained() {
	for q in email invoice; do
		[ "$(n_of $q/new)" = 0 ] && [ "$(n_of $q/cur)" = 0 ] || return 1
	done
}
until_true 30 drained || fail "the services did not catch up in 30 s"
say "all $n orders taken: $(n_of emails) e-mails, $(n_of invoices) invoices;" \
    "cat invoices/order-1.invoice: $(cat invoices/order-1.invoice)"

for i in $(seq "$n"); do
	[ -f "emails/order-$i.email" ] || fail "no e-mail for order $i"
	[ -f "invoices/order-$i.invoice" ] || fail "no invoice for order $i"
done
[ "$(n_lines email.log)" = "$n" ] || fail "$(n_lines email.log) e-mails handled for $n orders"
[ "$(n_lines invoice.log)" = "$n" ] || fail "$(n_lines invoice.log) invoices handled for $n orders"
verdict
