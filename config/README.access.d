access.d - who may pass: residents, groups, vehicles, visitors, denied ids
==========================================================================

Property staff keep one or more *.ini files here; only files ending in
.ini are read (this README is not).  The gateway reloads them by itself
when a file changes; check them first with

    gatewayd -t -c /etc/community-gateway/gateway.ini

A broken file does not stop the gateway: it keeps deciding on the last
good tables and reports file:line: what is wrong.

The directory is empty after installation: nobody may pass until staff
add the compound's people.  Examples of every kind of file (groups.ini,
residents.ini, vehicles.ini, visitors.ini, denied.ini) are in

    /usr/share/doc/community-gateway/examples/access.d/

(/usr/local/share/... after `make install` from a clone).  Copy what fits,
then replace the example compound's names, cards and plates with your own.
